// The live stream as React state: newest cycle, control state, a short feed, and counters that tell pages to refetch.
import { createContext, useContext, useEffect, useReducer, type ReactNode } from 'react';
import type { Control, CycleData, StreamMessage, StreamSnapshot } from '../api/client';
import { fmtMoney, fmtPct } from '../format';
import { openStream, streamUrl, type ConnectionStatus, type StreamOptions } from '../api/stream';

export interface FeedItem {
  id: number;
  type: 'fill' | 'signal' | 'risk' | 'health' | 'control';
  ts: string;
  text: string;
  severity: 'info' | 'warning' | 'critical';
}

export interface LiveState {
  status: ConnectionStatus;
  cycle: CycleData | null;
  snapshot: StreamSnapshot | null;
  control: Control | null;
  /** Increments on every snapshot: the client (re)synchronised, so pages refetch everything. */
  syncKey: number;
  /** Increments at most every REFRESH_MS while stream data arrives, so pages refresh lists calmly. */
  version: number;
  dirty: boolean;
  feed: FeedItem[];
  nextId: number;
}

export const REFRESH_MS = 1500;
const FEED_SIZE = 100;

export const initialLive: LiveState = {
  status: 'connecting',
  cycle: null,
  snapshot: null,
  control: null,
  syncKey: 0,
  version: 0,
  dirty: false,
  feed: [],
  nextId: 1,
};

type Action =
  | { kind: 'status'; status: ConnectionStatus }
  | { kind: 'message'; message: StreamMessage }
  | { kind: 'tick' }
  | { kind: 'control'; control: Control };

function describe(message: StreamMessage): Omit<FeedItem, 'id'> | null {
  switch (message.type) {
    case 'fill': {
      const f = message.data;
      return {
        type: 'fill',
        ts: f.ts,
        severity: 'info',
        text: `${f.side.toUpperCase()} ${f.qty} ${f.symbol} @ ${fmtMoney(f.price)} (fee ${fmtMoney(f.fee)})`,
      };
    }
    case 'signal': {
      const s = message.data;
      return {
        type: 'signal',
        ts: s.ts,
        severity: 'info',
        text: `${s.source} → ${s.symbol} target ${fmtPct(s.target_weight, 1)} (confidence ${fmtPct(s.confidence, 0)})`,
      };
    }
    case 'risk':
      return { type: 'risk', ts: message.data.ts, severity: message.data.severity, text: message.data.message };
    case 'health': {
      const h = message.data;
      const severity = h.status === 'ok' ? 'info' : h.status === 'degraded' ? 'warning' : 'critical';
      return { type: 'health', ts: h.ts, severity, text: `${h.component} ${h.status}: ${h.message}` };
    }
    case 'control': {
      const e = message.data.entry;
      return {
        type: 'control',
        ts: e.at,
        severity: e.outcome === 'accepted' ? 'info' : 'warning',
        text: `${e.action} by ${e.client}: ${e.detail} (${e.outcome})`,
      };
    }
    default:
      return null;
  }
}

export function liveReducer(state: LiveState, action: Action): LiveState {
  switch (action.kind) {
    case 'status':
      return { ...state, status: action.status };
    case 'tick':
      return state.dirty ? { ...state, dirty: false, version: state.version + 1 } : state;
    case 'control':
      return { ...state, control: action.control };
    case 'message': {
      const message = action.message;
      if (message.type === 'snapshot') {
        const run = message.data.portfolio?.run_id;
        return {
          ...state,
          snapshot: message.data,
          control: message.data.control,
          cycle: state.cycle && state.cycle.run_id === run ? state.cycle : null,
          syncKey: state.syncKey + 1,
        };
      }
      if (message.type === 'cycle') {
        return { ...state, cycle: message.data, control: message.data.control, dirty: true };
      }
      const item = describe(message);
      const control = message.type === 'control' ? message.data.state : state.control;
      if (!item) return state;
      const feed = [{ ...item, id: state.nextId }, ...state.feed].slice(0, FEED_SIZE);
      return { ...state, feed, control, nextId: state.nextId + 1, dirty: true };
    }
  }
}

export interface Live extends LiveState {
  applyControl: (control: Control) => void;
}

export const LiveContext = createContext<Live>({ ...initialLive, applyControl: () => undefined });

export function useLive(): Live {
  return useContext(LiveContext);
}

export interface LiveProviderProps {
  token: string;
  children: ReactNode;
  connect?: (options: StreamOptions) => () => void;
}

export function LiveProvider({ token, children, connect = openStream }: LiveProviderProps) {
  const [state, dispatch] = useReducer(liveReducer, initialLive);

  useEffect(() => {
    return connect({
      url: streamUrl(),
      token,
      onMessage: (message) => dispatch({ kind: 'message', message }),
      onStatus: (status) => dispatch({ kind: 'status', status }),
    });
  }, [token, connect]);

  useEffect(() => {
    const timer = setInterval(() => dispatch({ kind: 'tick' }), REFRESH_MS);
    return () => clearInterval(timer);
  }, []);

  const value: Live = { ...state, applyControl: (control) => dispatch({ kind: 'control', control }) };
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}
