// Pure state: the stream reducer, the token hand-off, message parsing and reconnects, formatting.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openStream, parseMessage, SUBPROTOCOL } from '../api/stream';
import { fmtMoney, fmtPct, fmtSpeed, fmtSignedMoney, DASH } from '../format';
import * as fx from '../test/fixtures';
import { initialLive, liveReducer } from './live';
import { takeTokenFromHash } from './token';

describe('liveReducer', () => {
  it('counts a snapshot as a resync and keeps the control state it carries', () => {
    const state = liveReducer(initialLive, {
      kind: 'message',
      message: {
        type: 'snapshot',
        data: { reason: 'connect', portfolio: fx.portfolio, control: fx.control, health: fx.health, note: null },
      },
    });
    expect(state.syncKey).toBe(1);
    expect(state.control).toEqual(fx.control);
  });

  it('keeps only the newest cycle and refreshes lists at most once per tick', () => {
    let state = liveReducer(initialLive, { kind: 'message', message: { type: 'cycle', data: fx.cycle({ cycle: 1 }) } });
    state = liveReducer(state, { kind: 'message', message: { type: 'cycle', data: fx.cycle({ cycle: 2 }) } });
    expect(state.cycle?.cycle).toBe(2);
    state = liveReducer(state, { kind: 'tick' });
    state = liveReducer(state, { kind: 'tick' });
    expect(state.version).toBe(1);
  });

  it('bounds the activity feed', () => {
    let state = initialLive;
    for (let i = 0; i < 250; i += 1) {
      state = liveReducer(state, {
        kind: 'message',
        message: { type: 'fill', data: { ts: '2005-01-03T14:30:00Z', order_id: `o${i}`, seq: i, symbol: 'AAPL', side: 'buy', qty: 1, price: 1, fee: 1 } },
      });
    }
    expect(state.feed).toHaveLength(100);
    expect(state.feed[0]?.text).toContain('BUY 1 AAPL');
  });
});

describe('token hand-off', () => {
  it('takes #token= out of the address bar', () => {
    window.location.hash = '#token=abc_DEF-123';
    expect(takeTokenFromHash()).toBe('abc_DEF-123');
    expect(window.location.hash).toBe('#/overview');
    expect(takeTokenFromHash()).toBeNull();
  });
});

describe('stream', () => {
  afterEach(() => vi.useRealTimers());

  it('ignores frames that are not typed messages', () => {
    expect(parseMessage('not json')).toBeNull();
    expect(parseMessage('{"type":"weird","data":{}}')).toBeNull();
    expect(parseMessage('{"type":"cycle","data":{}}')?.type).toBe('cycle');
  });

  it('sends the token as a subprotocol, reconnects with backoff and stops when closed', () => {
    vi.useFakeTimers();
    const sockets: { protocols: string[]; socket: Partial<WebSocket> }[] = [];
    const statuses: string[] = [];
    const close = openStream({
      url: 'ws://x/api/v1/stream',
      token: 'tok',
      onMessage: () => undefined,
      onStatus: (s) => statuses.push(s),
      minDelayMs: 100,
      socket: (_url, protocols) => {
        const socket: Partial<WebSocket> = { close: vi.fn() };
        sockets.push({ protocols, socket });
        return socket as WebSocket;
      },
    });
    expect(sockets[0]?.protocols).toEqual([SUBPROTOCOL, 'bearer.tok']);
    sockets[0]?.socket.onclose?.call(sockets[0].socket as WebSocket, {} as CloseEvent);
    vi.advanceTimersByTime(99);
    expect(sockets).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(2);
    sockets[1]?.socket.onclose?.call(sockets[1].socket as WebSocket, {} as CloseEvent);
    vi.advanceTimersByTime(199);
    expect(sockets).toHaveLength(2);
    vi.advanceTimersByTime(1);
    expect(sockets).toHaveLength(3);
    close();
    expect(statuses.at(-1)).toBe('closed');
    vi.advanceTimersByTime(10_000);
    expect(sockets).toHaveLength(3);
  });
});

describe('format', () => {
  it('never shows a number for missing data', () => {
    expect(fmtMoney(null)).toBe(DASH);
    expect(fmtPct(undefined)).toBe(DASH);
    expect(fmtMoney(Number.NaN)).toBe(DASH);
  });

  it('formats money, signed P&L, percentages and speeds', () => {
    expect(fmtMoney(1234567.891)).toBe('$1,234,567.89');
    expect(fmtSignedMoney(12.5)).toBe('+$12.50');
    expect(fmtSignedMoney(-12.5)).toBe('-$12.50');
    expect(fmtPct(-0.0635)).toBe('-6.35%');
    expect(fmtPct(0.05, 1, true)).toBe('+5.0%');
    expect(fmtSpeed(0)).toBe('as fast as possible');
    expect(fmtSpeed(86400)).toBe('1 market day / s');
    expect(fmtSpeed(3600)).toBe('1 market h / s');
  });
});
