// The WebSocket stream: typed messages, token in the subprotocol (not the URL), reconnect with backoff.
import type { StreamMessage } from './client';

export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'closed';

export const SUBPROTOCOL = 'papertrader.v1';
const MESSAGE_TYPES = new Set(['snapshot', 'cycle', 'fill', 'signal', 'risk', 'health', 'control']);

export interface StreamOptions {
  url: string;
  token: string;
  onMessage: (message: StreamMessage) => void;
  onStatus: (status: ConnectionStatus) => void;
  socket?: (url: string, protocols: string[]) => WebSocket;
  minDelayMs?: number;
  maxDelayMs?: number;
}

/** The stream URL for a page served by the API (ws:// or wss:// to the same host). */
export function streamUrl(location: Location = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}/api/v1/stream`;
}

/** Parse one frame; anything that is not a known message type is ignored rather than trusted. */
export function parseMessage(text: string): StreamMessage | null {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === 'object' && 'type' in value && 'data' in value) {
      const type = (value as { type: unknown }).type;
      if (typeof type === 'string' && MESSAGE_TYPES.has(type)) return value as StreamMessage;
    }
  } catch {
    // not JSON: ignore
  }
  return null;
}

/** Connect and keep reconnecting until the returned function is called; every (re)connect starts with a snapshot. */
export function openStream(options: StreamOptions): () => void {
  const make = options.socket ?? ((url: string, protocols: string[]) => new WebSocket(url, protocols));
  const minDelay = options.minDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 10_000;
  let delay = minDelay;
  let closed = false;
  let socket: WebSocket | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;

  const connect = (first: boolean) => {
    if (closed) return;
    options.onStatus(first ? 'connecting' : 'reconnecting');
    const ws = make(options.url, [SUBPROTOCOL, `bearer.${options.token}`]);
    socket = ws;
    ws.onopen = () => {
      delay = minDelay;
      options.onStatus('open');
    };
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return;
      const message = parseMessage(event.data);
      if (message) options.onMessage(message);
    };
    ws.onclose = () => {
      socket = null;
      if (closed) return;
      options.onStatus('reconnecting');
      timer = setTimeout(() => connect(false), delay);
      delay = Math.min(maxDelay, delay * 2);
    };
  };

  connect(true);
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    if (socket) {
      socket.onclose = null;
      socket.close();
    }
    options.onStatus('closed');
  };
}
