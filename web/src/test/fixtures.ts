// Typed API bodies for component tests: if the schema changes, these stop compiling.
import type { Schemas } from '../api/client';

export const RUN = 'run-1';

export const portfolio: Schemas['PortfolioView'] = {
  run_id: RUN,
  source: 'live',
  status: 'running',
  mode: 'replay',
  interval: '1d',
  symbols: ['AAPL', 'MSFT'],
  as_of: '2005-03-04T21:00:00Z',
  cycle: 1234,
  cycles_done: 40,
  progress: 0.25,
  initial_cash: 100000,
  cash: 40000,
  market_value: 62345.67,
  equity: 102345.67,
  total_pnl: 2345.67,
  total_return: 0.0234567,
  gross_exposure: 0.61,
  peak_equity: 103000,
  drawdown: -0.00635,
  max_drawdown: -0.031,
  open_positions: 1,
  working_orders: 0,
  fees_paid: 12.5,
  halted: null,
};

export const positions: Schemas['PositionsView'] = {
  run_id: RUN,
  source: 'live',
  as_of: '2005-03-04T21:00:00Z',
  positions: [
    {
      symbol: 'AAPL',
      qty: 1000,
      avg_price: 60,
      mark: 62.34567,
      market_value: 62345.67,
      unrealized_pnl: 2345.67,
      realized_pnl: 0,
      weight: 0.609,
    },
  ],
};

export const equity: Schemas['EquitySeries'] = {
  run_id: RUN,
  source: 'live',
  initial_cash: 100000,
  benchmark_name: 'equal-weight buy-and-hold',
  benchmark_note: null,
  max_drawdown: -0.031,
  points: [
    { ts: '2005-03-02T21:00:00Z', cycle: 1232, equity: 100000, drawdown: 0, gross_exposure: 0, benchmark: 100000 },
    { ts: '2005-03-03T21:00:00Z', cycle: 1233, equity: 101000, drawdown: 0, gross_exposure: 0.6, benchmark: 100500 },
    { ts: '2005-03-04T21:00:00Z', cycle: 1234, equity: 102345.67, drawdown: 0, gross_exposure: 0.61, benchmark: 100900 },
  ],
};

export const control: Schemas['ControlView'] = {
  available: true,
  reason: null,
  run_id: RUN,
  mode: 'replay',
  paused: false,
  stopping: false,
  flatten_requested: false,
  speed: 864000,
  halted: null,
  trading: 'paper',
};

export const health: Schemas['HealthView'] = {
  status: 'ok',
  live: true,
  run_id: RUN,
  as_of: '2005-03-04T21:00:00Z',
  components: [{ name: 'database', status: 'ok' }],
  latency: { p50_ms: 8.2, p99_ms: 30.5, max_ms: 41, cycles: 40 },
  live_score: null,
};

export const runs: Schemas['RunList'] = {
  live_run_id: RUN,
  runs: [
    {
      id: RUN,
      mode: 'replay',
      status: 'running',
      interval: '1d',
      symbols: ['AAPL', 'MSFT'],
      start: '2005-01-03T05:00:00Z',
      end: '2013-03-01T05:00:00Z',
      created_at: '2026-01-01T00:00:00Z',
      finished_at: null,
      initial_cash: 100000,
      last_cycle: 1234,
      last_cycle_ts: '2005-03-04T21:00:00Z',
      final_equity: null,
      total_return: null,
      live: true,
    },
  ],
};

export function signal(overrides: Partial<Schemas['SignalView']> = {}): Schemas['SignalView'] {
  return {
    ts: '2005-03-04T21:00:00Z',
    symbol: 'AAPL',
    source: 'trend_sma_20_50',
    model: 'baseline',
    target_weight: 0.25,
    confidence: 0.6,
    rationale: 'sma20 61.2 > sma50 58.9',
    votes: [],
    ...overrides,
  };
}

export const signals: Schemas['SignalsView'] = {
  run_id: RUN,
  decision_source: 'ensemble',
  ensemble_source: 'ensemble',
  models: [
    { source: 'ensemble', model: 'ensemble', signals: 3, last_ts: '2005-03-04T21:00:00Z', drives_orders: true },
    { source: 'lstm_v1', model: 'lstm', signals: 5, last_ts: '2005-03-04T21:00:00Z', drives_orders: false },
  ],
  symbols: [
    {
      symbol: 'AAPL',
      ensemble: signal({
        source: 'ensemble',
        model: 'ensemble',
        target_weight: 0.2,
        rationale: 'two of three models long',
        votes: [
          // the ensemble's stored vote shape (signals.ensemble), synthetic numbers
          {
            member: 'lstm',
            timeframe: 'short',
            p_up: 0.64,
            p_down: 0.21,
            exit: false,
            weight: 0.43,
            reason: 'lstm (lstm v0001): raw P(up) 0.61 P(down) 0.24',
          },
          { member: 'gru', timeframe: 'trend', p_up: null, p_down: null, exit: false, weight: 0, reason: 'gru: no bar' },
          {
            member: 'ppo',
            timeframe: 'agent',
            p_up: 0.2,
            p_down: 0.7,
            exit: true,
            weight: 0.25,
            reason: 'ppo (ppo v0001): raw P(up) 0.20 P(down) 0.70 EXIT',
          },
        ],
      }),
      models: [signal({ source: 'lstm_v1', model: 'lstm', target_weight: 0.3, rationale: 'p(up)=0.64' })],
    },
    { symbol: 'MSFT', ensemble: null, models: [] },
  ],
  recent: [signal()],
  note: null,
};

export const trades: Schemas['TradesView'] = {
  run_id: RUN,
  total: 1,
  realized_pnl_total: 0,
  fees_total: 5,
  offset: 0,
  trades: [
    {
      seq: 1,
      ts: '2005-03-02T14:30:00Z',
      order_id: 'o1',
      symbol: 'AAPL',
      side: 'buy',
      qty: 1000,
      price: 60,
      fee: 5,
      notional: 60000,
      realized_pnl: 0,
      position_after: 1000,
      tag: 'trend_sma_20_50',
      reason: 'filled',
    },
  ],
};

export function cycle(overrides: Partial<Schemas['CycleData']> = {}): Schemas['CycleData'] {
  return {
    run_id: RUN,
    cycle: 1235,
    ts: '2005-03-07T21:00:00Z',
    progress: 0.26,
    initial_cash: 100000,
    cash: 40000,
    equity: 104321.09,
    total_pnl: 4321.09,
    total_return: 0.0432109,
    gross_exposure: 0.62,
    peak_equity: 104321.09,
    drawdown: 0,
    working_orders: 0,
    halted: null,
    positions: positions.positions,
    health: [{ name: 'database', status: 'ok' }],
    latency: { p50_ms: 8, p99_ms: 30, max_ms: 41, cycles: 41 },
    control,
    ...overrides,
  };
}
