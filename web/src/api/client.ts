// Typed access to the papertrader API: paths and bodies come from schema.d.ts, generated from openapi.json.
import createClient, { type Client, type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];
export type Portfolio = Schemas['PortfolioView'];
export type Positions = Schemas['PositionsView'];
export type Position = Schemas['PositionView'];
export type Orders = Schemas['OrdersView'];
export type Trades = Schemas['TradesView'];
export type Equity = Schemas['EquitySeries'];
export type DailyPnl = Schemas['DailyPnlView'];
export type Signals = Schemas['SignalsView'];
export type Signal = Schemas['SignalView'];
export type Risk = Schemas['RiskView'];
export type Alert = Schemas['AlertView'];
export type Health = Schemas['HealthView'];
export type Control = Schemas['ControlView'];
export type Config = Schemas['ConfigView'];
export type Runs = Schemas['RunList'];
export type Audit = Schemas['AuditView'];
export type CycleData = Schemas['CycleData'];
export type Decisions = Schemas['DecisionsView'];
export type Decision = Schemas['DecisionView'];
export type Prices = Schemas['PricesView'];
export type StreamSnapshot = Schemas['StreamSnapshot'];
export type StreamMessage = Schemas['StreamMessage'];

/** An API answer other than 2xx, with the server's sentence (it says what to do). */
export class ApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }

  get notFound(): boolean {
    return this.status === 404;
  }
}

export type RawClient = Client<paths>;

export interface ClientOptions {
  baseUrl?: string;
  fetch?: typeof globalThis.fetch;
}

/** A client that sends the bearer token (read at each request, so a new token applies at once). */
export function makeClient(getToken: () => string | null, options: ClientOptions = {}): RawClient {
  const client = createClient<paths>({
    baseUrl: options.baseUrl ?? window.location.origin,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const auth: Middleware = {
    onRequest({ request }) {
      const token = getToken();
      if (token) request.headers.set('Authorization', `Bearer ${token}`);
      return request;
    },
  };
  client.use(auth);
  return client;
}

function message(error: unknown, fallback: string): string {
  if (error && typeof error === 'object' && 'detail' in error) {
    const detail = (error as { detail: unknown }).detail;
    if (typeof detail === 'string') return detail;
    if (Array.isArray(detail)) return detail.map((d) => (d as { msg?: string }).msg ?? String(d)).join('; ');
  }
  return fallback;
}

async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (exc) {
    throw new ApiError(0, `cannot reach the papertrader API (${exc instanceof Error ? exc.message : String(exc)})`);
  }
  if (result.data === undefined || !result.response.ok) {
    const status = result.response.status;
    throw new ApiError(status, message(result.error, `${status} ${result.response.statusText || 'error'}`));
  }
  return result.data;
}

type RunId = string | null;

/** One function per route the dashboard uses; `run` null means the live run, else the newest stored one. */
export function endpoints(client: RawClient) {
  const q = (run: RunId) => (run ? { run } : {});
  return {
    health: () => unwrap(client.GET('/api/v1/health')),
    runs: () => unwrap(client.GET('/api/v1/runs')),
    portfolio: (run: RunId) => unwrap(client.GET('/api/v1/portfolio', { params: { query: q(run) } })),
    positions: (run: RunId) => unwrap(client.GET('/api/v1/positions', { params: { query: q(run) } })),
    orders: (run: RunId, openOnly: boolean, limit = 200) =>
      unwrap(client.GET('/api/v1/orders', { params: { query: { ...q(run), open_only: openOnly, limit } } })),
    trades: (run: RunId, limit = 500, offset = 0) =>
      unwrap(client.GET('/api/v1/trades', { params: { query: { ...q(run), limit, offset } } })),
    equity: (run: RunId, maxPoints = 3000) =>
      unwrap(client.GET('/api/v1/equity', { params: { query: { ...q(run), max_points: maxPoints } } })),
    dailyPnl: (run: RunId) => unwrap(client.GET('/api/v1/pnl/daily', { params: { query: q(run) } })),
    signals: (run: RunId, symbol: string | null) =>
      unwrap(client.GET('/api/v1/signals', { params: { query: { ...q(run), ...(symbol ? { symbol } : {}) } } })),
    risk: (run: RunId) => unwrap(client.GET('/api/v1/risk', { params: { query: q(run) } })),
    decisions: (runId: string, symbol: string | null, limit = 100, before: number | null = null) =>
      unwrap(
        client.GET('/api/v1/runs/{run_id}/decisions', {
          params: {
            path: { run_id: runId },
            query: { limit, ...(symbol ? { symbol } : {}), ...(before !== null ? { before } : {}) },
          },
        }),
      ),
    prices: (runId: string, symbol: string, maxPoints = 3000) =>
      unwrap(
        client.GET('/api/v1/runs/{run_id}/prices', {
          params: { path: { run_id: runId }, query: { symbol, max_points: maxPoints } },
        }),
      ),
    config: (run: RunId) => unwrap(client.GET('/api/v1/config', { params: { query: q(run) } })),
    control: () => unwrap(client.GET('/api/v1/control')),
    audit: () => unwrap(client.GET('/api/v1/audit')),
    pause: () => unwrap(client.POST('/api/v1/control/pause')),
    resume: () => unwrap(client.POST('/api/v1/control/resume')),
    stop: () => unwrap(client.POST('/api/v1/control/stop')),
    flatten: () => unwrap(client.POST('/api/v1/control/flatten')),
    reset: () => unwrap(client.POST('/api/v1/control/reset')),
    speed: (speed: number) => unwrap(client.POST('/api/v1/control/speed', { body: { speed } })),
    mode: (mode: 'paper' | 'observe') => unwrap(client.POST('/api/v1/control/mode', { body: { mode } })),
  };
}

export type Api = ReturnType<typeof endpoints>;
