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
    for (const id of ['btn-pause', 'btn-resume', 'btn-flatten', 'btn-reset', 'btn-stop']) {
      expect(screen.getByTestId(id)).toBeDisabled();
    }
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
    expect(votes).toHaveTextContent('lstm 0.64/0.21 w0.43');
    expect(votes).toHaveTextContent('ppo 0.20/0.70 w0.25 EXIT');
    expect(votes).not.toHaveTextContent('gru —/—'); // no view: no chip, but a row in the table
    expect(votes).toHaveTextContent('2 of 3 members with a view');
    const rows = within(votes).getAllByRole('row');
    expect(rows).toHaveLength(4);
    expect(rows[2]).toHaveTextContent('gru');
    expect(rows[2]).toHaveTextContent('gru: no bar');
    expect(card).toHaveTextContent('p(up)=0.64');
    expect(screen.getByTestId('signal-card-MSFT')).toHaveTextContent('No model has emitted a signal for MSFT yet');
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
        alert_counts: { 'risk.kill_switch': 1 },
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
    expect(screen.getByRole('meter', { name: 'Drawdown vs kill switch' })).toBeInTheDocument();
    expect(screen.getByTestId('buckets')).toHaveTextContent('core');
  });
});
