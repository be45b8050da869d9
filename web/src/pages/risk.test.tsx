// Risk Monitor: exposure per sector against the sector cap, beside the capital buckets.
import { render, screen, within } from '@testing-library/react';
import type { ReactNode } from 'react';
import { describe, expect, it } from 'vitest';
import { endpoints, makeClient } from '../api/client';
import { LiveProvider } from '../state/live';
import { SessionContext, type Session } from '../state/session';
import { fakeApi, fakeStream } from '../test/fakes';
import * as fx from '../test/fixtures';
import { Risk } from './Risk';

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
}

const risk = {
  run_id: fx.RUN,
  source: 'stored',
  drawdown: -0.02,
  max_drawdown: -0.03,
  peak_equity: 102000,
  gross_exposure: 0.7,
  gross_limit_used: 0.7,
  largest_position: { symbol: 'AAPL', weight: 0.25 },
  halted: null,
  limits: {
    max_position_fraction: 0.25,
    max_gross_exposure: 1,
    allow_short: false,
    min_order_notional: 100,
    max_drawdown: 0.08,
    daily_loss_limit: 0.025,
    settings: {},
  },
  buckets: [{ name: 'core', weight: 0.7, cap: 0.8, symbols: ['AAPL', 'BAC', 'MSFT'] }],
  sectors: [
    { name: 'Financials', weight: 0.2, cap: 0.5, symbols: ['BAC'] },
    { name: 'Information Technology', weight: 0.5, cap: 0.5, symbols: ['AAPL', 'MSFT'] },
  ],
  alert_counts: {},
  alerts: [],
};

describe('Risk Monitor sectors', () => {
  it('shows each sector held with its weight against the cap', async () => {
    mount(<Risk />, { 'GET /api/v1/risk': risk });
    const table = await screen.findByTestId('sectors');
    const row = within(table).getByText('Information Technology').closest('tr');
    expect(row).not.toBeNull();
    expect(row).toHaveTextContent('50.0%');
    expect(row).toHaveTextContent('AAPL, MSFT');
    expect(within(table).getByText('Financials')).toBeInTheDocument();
    expect(screen.getByTestId('buckets')).toHaveTextContent('core');
  });

  it('leaves the table out when no held symbol has a known sector', async () => {
    mount(<Risk />, { 'GET /api/v1/risk': { ...risk, sectors: [] } });
    expect(await screen.findByTestId('buckets')).toBeInTheDocument();
    expect(screen.queryByTestId('sectors')).toBeNull();
  });
});
