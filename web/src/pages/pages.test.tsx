// Page components against a fake API: controls act and confirm, signals show votes, trades and risk render.
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import type { ReactNode } from 'react';
import { describe, expect, it } from 'vitest';
import { endpoints, makeClient } from '../api/client';
import { LiveProvider } from '../state/live';
import { SessionContext, type Session } from '../state/session';
import { fakeApi, fakeStream, json } from '../test/fakes';
import * as fx from '../test/fixtures';
import { Controls } from './Controls';
import { Risk } from './Risk';
import { Signals } from './Signals';
import { Trades } from './Trades';

function mount(ui: ReactNode, routes: Record<string, unknown>) {
  const api = fakeApi(routes);
  const stream = fakeStream();
  const session: Session = {
    api: endpoints(makeClient(() => 'good-token', { baseUrl: 'http://localhost', fetch: api.fetch })),
    token: 'good-token',
    signOut: () => undefined,
    run: null,
    setRun: () => undefined,
  };
  render(
    <SessionContext.Provider value={session}>
      <LiveProvider token="good-token" connect={stream.connect}>
        {ui}
      </LiveProvider>
    </SessionContext.Provider>,
  );
  return { api, stream };
}

const controlRoutes = {
  'GET /api/v1/control': fx.control,
  'GET /api/v1/health': fx.health,
  'GET /api/v1/audit': { entries: [] },
  'GET /api/v1/config': { settings: {}, api: {}, vendors: {}, run_id: null, run_config: null, masked: ['vendors.x.key'] },
  'POST /api/v1/control/pause': { ...fx.control, paused: true },
  'POST /api/v1/control/stop': { ...fx.control, stopping: true, available: false, reason: 'the run is stopping' },
  'POST /api/v1/control/speed': (req: Request) => req.json().then((b: { speed: number }) => json({ ...fx.control, speed: b.speed })),
  'POST /api/v1/control/mode': (req: Request) => req.json().then((b: { mode: string }) => json({ ...fx.control, trading: b.mode })),
};

describe('System Controls', () => {
  it('pauses the run through the API and shows the new state', async () => {
    const { api } = mount(<Controls />, controlRoutes);
    const pause = await screen.findByTestId('btn-pause');
    expect(screen.getByTestId('btn-resume')).toBeDisabled();
    await userEvent.click(pause);
    await waitFor(() => expect(screen.getByTestId('control-state')).toHaveTextContent('paused'));
    expect(api.calls.some((c) => c.method === 'POST' && c.path === '/api/v1/control/pause')).toBe(true);
    expect(screen.getByTestId('btn-resume')).toBeEnabled();
  });

  it('switches the run to observe only and back, and says which is in force', async () => {
    const { api } = mount(<Controls />, controlRoutes);
    expect(await screen.findByTestId('control-trading')).toHaveTextContent('paper trading');
    expect(screen.getByTestId('btn-paper')).toBeDisabled();
    await userEvent.click(screen.getByTestId('btn-observe'));
    await waitFor(() => expect(screen.getByTestId('control-trading')).toHaveTextContent('observe only'));
    expect(api.calls.some((c) => c.method === 'POST' && c.path === '/api/v1/control/mode')).toBe(true);
    expect(screen.getByTestId('btn-observe')).toBeDisabled();
    await userEvent.click(screen.getByTestId('btn-paper'));
    await waitFor(() => expect(screen.getByTestId('control-trading')).toHaveTextContent('paper trading'));
  });

  it('asks for confirmation before stopping', async () => {
    const { api } = mount(<Controls />, controlRoutes);
    const stop = await screen.findByTestId('btn-stop');
    await userEvent.click(stop);
    expect(stop).toHaveTextContent('Confirm');
    expect(api.calls.some((c) => c.path === '/api/v1/control/stop')).toBe(false);
    await userEvent.click(stop);
    expect(await screen.findByTestId('controls-unavailable')).toHaveTextContent('the run is stopping');
    expect(screen.getByTestId('btn-pause')).toBeDisabled();
  });

  it('sets the replay speed from a preset and shows it in words', async () => {
    mount(<Controls />, controlRoutes);
    expect(await screen.findByTestId('speed-value')).toHaveTextContent('10 market days / s');
    await userEvent.click(screen.getByRole('button', { name: '1 day/s' }));
    await waitFor(() => expect(screen.getByTestId('speed-value')).toHaveTextContent('1 market day / s'));
  });

  it('explains why controls are unavailable and disables every button', async () => {
    mount(<Controls />, {
      ...controlRoutes,
      'GET /api/v1/control': { ...fx.control, available: false, reason: 'no live run: this server shows stored runs' },
    });
    expect(await screen.findByTestId('controls-unavailable')).toHaveTextContent('no live run');
    for (const id of ['btn-pause', 'btn-resume', 'btn-flatten', 'btn-reset', 'btn-stop', 'btn-paper', 'btn-observe']) {
      expect(screen.getByTestId(id)).toBeDisabled();
    }
  });

  it('shows the live run uptime and lists its critical failures', async () => {
    mount(<Controls />, {
      ...controlRoutes,
      'GET /api/v1/health': {
        ...fx.health,
        live_score: {
          as_of: '2005-03-04T21:00:00Z',
          scheduled: 400,
          up: 399,
          uptime: 399 / 400,
          missed_closes: 1,
          critical_failures: ['1 scheduled bar close(s) had no cycle'],
        },
      },
    });
    const score = await screen.findByTestId('live-score');
    expect(score).toHaveTextContent('99.75%');
    expect(score).toHaveTextContent('399 of 400 bar closes up');
    expect(screen.getByTestId('critical-failures')).toHaveTextContent('1 scheduled bar close(s) had no cycle');
  });

  it('shows no uptime block when the run has no live score', async () => {
    mount(<Controls />, controlRoutes);
    await screen.findByText('Cycle p50');
    expect(screen.queryByTestId('live-score')).toBeNull();
  });

  it('follows control changes made by another client over the stream', async () => {
    const { stream } = mount(<Controls />, controlRoutes);
    await screen.findByTestId('btn-pause');
    act(() =>
      stream.push({
        type: 'control',
        data: {
          entry: { at: '2026-01-01T00:00:00Z', client: '127.0.0.1:5', user_agent: 'x', action: 'pause', detail: 'pause', outcome: 'accepted' },
          state: { ...fx.control, paused: true },
        },
      }),
    );
    expect(screen.getByTestId('control-state')).toHaveTextContent('paused');
  });
});

describe('AI Signals', () => {
  it('shows each model per symbol, the ensemble decision and its votes', async () => {
    mount(<Signals />, { 'GET /api/v1/signals': fx.signals });
    const card = await screen.findByTestId('signal-card-AAPL');
    expect(card).toHaveTextContent('ensemble');
    expect(card).toHaveTextContent('two of three models long');
    const votes = within(card).getByTestId('votes-AAPL-ensemble');
    // one readable row per member: probabilities in %, weight in %, the reason in words (issue 14)
    expect(votes).toHaveTextContent('2 of 3 members with a view');
    const rows = within(votes).getAllByRole('listitem');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent('lstm short64% up · 21% downweight 43.0%');
    expect(rows[0]).toHaveTextContent('Leans up; before calibration 61% up, 24% down (lstm v0001).');
    expect(rows[1]).toHaveTextContent('no view');
    expect(rows[1]).toHaveTextContent('gru: no bar');
    expect(rows[2]).toHaveTextContent('20% up · 70% down');
    expect(rows[2]).toHaveTextContent('exit');
    expect(votes).not.toHaveTextContent('P(up)');
    expect(card).toHaveTextContent('p(up)=0.64');
    expect(screen.getByTestId('signal-card-MSFT')).toHaveTextContent('No model has emitted a signal for MSFT yet');
  });

  it('greys out a member the quality gate left out and does not count it as a view', async () => {
    const [first] = fx.signals.symbols;
    const ensemble = first!.ensemble!;
    const gated = {
      member: 'gru',
      timeframe: 'trend',
      p_up: 0.5,
      p_down: 0.5,
      exit: false,
      weight: 0,
      reason: 'gru: left out, validation log loss 0.694 >= base rate 0.692',
    };
    const votes = [ensemble.votes[0]!, gated];
    const signals = { ...fx.signals, symbols: [{ ...first!, ensemble: { ...ensemble, votes } }] };
    mount(<Signals />, { 'GET /api/v1/signals': signals });
    const row = await screen.findByTestId('vote-gru');
    expect(row).toHaveClass('vote-row-out');
    expect(row).toHaveTextContent('left out');
    expect(row).toHaveTextContent('Left out by the quality gate: validation log loss 0.694 >= base rate 0.692');
    expect(row).not.toHaveTextContent('50% up');
    expect(screen.getByTestId('votes-AAPL-ensemble')).toHaveTextContent('1 of 2 members with a view');
  });

  it('says in words who drives the orders', async () => {
    mount(<Signals />, { 'GET /api/v1/signals': fx.signals });
    expect(await screen.findByTestId('signals-source')).toHaveTextContent('Orders follow the board');
  });

  it('says when no ensemble exists instead of inventing votes', async () => {
    mount(<Signals />, {
      'GET /api/v1/signals': { ...fx.signals, ensemble_source: null, note: 'one decision source drives this run' },
    });
    expect(await screen.findByText('one decision source drives this run')).toBeInTheDocument();
  });
});

describe('Trade Log and Risk Monitor', () => {
  it('lists fills with totals', async () => {
    mount(<Trades />, { 'GET /api/v1/trades': fx.trades, 'GET /api/v1/orders': { run_id: fx.RUN, total: 0, orders: [] } });
    const table = await screen.findByTestId('trades-table');
    expect(within(table).getByText('AAPL')).toBeInTheDocument();
    expect(screen.getByTestId('kpi-fills-value')).toHaveTextContent('1');
    expect(await screen.findByText('No working orders')).toBeInTheDocument();
    expect(within(table).getByText(/ ET$/)).toBeInTheDocument(); // every time carries its zone
    expect(screen.queryByTestId('trades-pager')).toBeNull();
  });

  it('pages a long trade log instead of rendering every fill', async () => {
    const many = (offset: number) => ({
      ...fx.trades,
      total: 120,
      offset,
      trades: Array.from({ length: Math.min(50, 120 - offset) }, (_, i) => ({ ...fx.trades.trades[0]!, seq: 120 - offset - i })),
    });
    const { api } = mount(<Trades />, {
      'GET /api/v1/trades': (req: Request) => json(many(Number(new URL(req.url).searchParams.get('offset') ?? 0))),
      'GET /api/v1/orders': { run_id: fx.RUN, total: 0, orders: [] },
    });
    const table = await screen.findByTestId('trades-table');
    expect(within(table).getAllByRole('row')).toHaveLength(51);
    expect(screen.getByText('Fills 1–50 of 120, newest first')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Older' }));
    expect(await screen.findByText('Fills 51–100 of 120, newest first')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Older' }));
    expect(await screen.findByText('Fills 101–120 of 120, newest first')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Older' })).toBeDisabled();
    expect(api.calls.filter((c) => c.path === '/api/v1/trades').length).toBeGreaterThanOrEqual(3);
  });

  it('shows a halted run, limits and alerts with severities', async () => {
    mount(<Risk />, {
      'GET /api/v1/risk': {
        run_id: fx.RUN,
        source: 'live',
        drawdown: -0.09,
        max_drawdown: -0.09,
        peak_equity: 110000,
        gross_exposure: 0,
        gross_limit_used: 0,
        largest_position: null,
        halted: 'kill switch: drawdown -9.00% past 8%',
        limits: {
          max_position_fraction: 0.25,
          max_gross_exposure: 1,
          allow_short: false,
          min_order_notional: 100,
          max_drawdown: 0.08,
          daily_loss_limit: 0.025,
          settings: { max_drawdown: 0.08, etfs: ['SPY'] },
        },
        buckets: [{ name: 'core', weight: 0, cap: 0.8, symbols: [] }],
        alert_counts: { 'risk.kill_switch': 1, 'order.resized': 2 },
        alerts: [
          {
            ts: '2005-03-04T21:00:00Z',
            kind: 'risk.kill_switch',
            severity: 'critical',
            symbol: null,
            rule: 'max_drawdown',
            message: 'kill switch fired',
            payload: {},
          },
        ],
      },
    });
    expect(await screen.findByTestId('halted-banner')).toHaveTextContent('kill switch');
    expect(screen.getByTestId('alerts')).toHaveTextContent('critical');
    expect(screen.getByText('targets raised by sizing: 2')).toBeInTheDocument(); // kinds in words, not event names
    expect(screen.getByRole('meter', { name: 'Drawdown vs kill switch' })).toBeInTheDocument();
    expect(screen.getByTestId('buckets')).toHaveTextContent('core');
  });
});
