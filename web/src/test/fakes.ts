// A fake API (fetch routed by path) and a fake stream the tests push messages into.
import type { StreamMessage } from '../api/client';
import type { ConnectionStatus, StreamOptions } from '../api/stream';

export type Route = unknown | ((request: Request) => Response | Promise<Response>);

export interface FakeApi {
  fetch: typeof globalThis.fetch;
  calls: { method: string; path: string; auth: string | null }[];
  routes: Map<string, Route>;
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** Routes are keyed "GET /api/v1/portfolio"; a missing route answers 404 like the API with no runs. */
export function fakeApi(routes: Record<string, Route>, token = 'good-token'): FakeApi {
  const table = new Map(Object.entries(routes));
  const calls: FakeApi['calls'] = [];
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : new Request(input, init);
    const path = new URL(request.url).pathname;
    const auth = request.headers.get('Authorization');
    calls.push({ method: request.method, path, auth });
    if (path !== '/api/v1/health' && auth !== `Bearer ${token}`) return json({ detail: 'missing or wrong API token' }, 401);
    const route = table.get(`${request.method} ${path}`);
    if (route === undefined) return json({ detail: 'no runs stored yet: start one with `papertrader demo`' }, 404);
    return typeof route === 'function' ? route(request) : json(route);
  };
  return { fetch: fetch as typeof globalThis.fetch, calls, routes: table };
}

export interface FakeStream {
  connect: (options: StreamOptions) => () => void;
  push: (message: StreamMessage) => void;
  status: (status: ConnectionStatus) => void;
  options: () => StreamOptions | null;
}

export function fakeStream(): FakeStream {
  let current: StreamOptions | null = null;
  return {
    connect: (options) => {
      current = options;
      options.onStatus('open');
      return () => {
        current = null;
      };
    },
    push: (message) => current?.onMessage(message),
    status: (status) => current?.onStatus(status),
    options: () => current,
  };
}
