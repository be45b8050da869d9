// The Decisions page against a fake API: the table, expandable votes, paging by cursor, and chart markers.
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { endpoints, makeClient, type Decision, type Decisions as DecisionsData } from '../api/client';
import { LiveProvider } from '../state/live';
import { SessionContext, type Session } from '../state/session';
import { fakeApi, fakeStream, json } from '../test/fakes';
import * as fx from '../test/fixtures';
import { decisionMarkers, Decisions } from './Decisions';

const PATH = `/api/v1/runs/${fx.RUN}/decisions`;

function decision(seq: number, over: Partial<Decision> = {}): Decision {
  return {
    seq,
    cycle: seq,
    ts: `2005-03-0${seq}T21:00:00Z`,
    symbol: 'AAPL',
    source: 'ensemble',
    target_weight: 0.1 * seq,
    confidence: 0.4,
    rationale: `board P(up) 0.6 -> weight ${0.1 * seq}`,
    votes: [
      { member: 'lstm', timeframe: 'daily', p_up: 0.62, p_down: 0.21, exit: false, weight: 0.8, reason: 'lstm v0001 daily' },
      { member: 'gru', timeframe: 'weekly', p_up: null, p_down: null, exit: false, weight: 0, reason: '' },
      { member: 'ppo', timeframe: 'daily', p_up: 0.5, p_down: 0.5, exit: true, weight: 0.3, reason: 'ppo flat' },
    ],
    ...over,
  };
}

const newest: DecisionsData = { run_id: fx.RUN, symbol: null, total: 3, next_before: 2, decisions: [decision(3), decision(2)] };
const older: DecisionsData = { run_id: fx.RUN, symbol: null, total: 3, next_before: null, decisions: [decision(1)] };
const prices = {
  run_id: fx.RUN,
  symbol: 'AAPL',
  interval: '1d',
  note: null,
  points: [1, 2, 3, 4].map((d) => ({ ts: `2005-03-0${d}T05:00:00Z`, close: 40 + d })),
};

function mount(routes: Record<string, unknown>) {
  const api = fakeApi(routes);
  const session: Session = {
    api: endpoints(makeClient(() => 'good-token', { baseUrl: 'http://localhost', fetch: api.fetch })),
    token: 'good-token',
    signOut: () => undefined,
    run: null,
    setRun: () => undefined,
  };
  render(
    <SessionContext.Provider value={session}>
      <LiveProvider token="good-token" connect={fakeStream().connect}>
        <Decisions />
      </LiveProvider>
    </SessionContext.Provider>,
  );
  return api;
}

const routes = {
  'GET /api/v1/runs': fx.runs,
  'GET /api/v1/runs/run-1/prices': prices,
  [`GET ${PATH}`]: (req: Request) => {
    const url = new URL(req.url);
    if (url.searchParams.get('limit') === '1000') return json({ ...newest, symbol: 'AAPL', next_before: null, decisions: [...newest.decisions, ...older.decisions] });
    return json(url.searchParams.get('before') === '2' ? older : newest);
  },
};

describe('Decisions', () => {
  it('lists decisions newest first with target, confidence and each member that had a view', async () => {
    mount(routes);
    const table = await screen.findByTestId('decisions-table');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveTextContent('AAPL');
    expect(rows[0]).toHaveTextContent('30.0%');
    expect(rows[0]).toHaveTextContent('40%');
    expect(rows[0]).toHaveTextContent('lstm 62% up');
    expect(rows[0]).toHaveTextContent('ppo 50% up · exit');
    expect(rows[0]).not.toHaveTextContent('gru');
    expect(screen.getByTestId('decisions-count')).toHaveTextContent('3 decisions in run run-1');
  });

  it('expands a row into every vote with weight, exit and reason, and "no view" for a silent member', async () => {
    mount(routes);
    const [toggle] = await screen.findAllByRole('button', { name: /show votes of AAPL/ });
    expect(screen.queryByTestId('votes-3')).toBeNull();
    await userEvent.click(toggle!);
    const votes = screen.getByTestId('votes-3');
    expect(within(votes).getAllByRole('listitem')).toHaveLength(3);
    expect(votes).toHaveTextContent('lstm v0001 daily');
    expect(votes).toHaveTextContent('no view');
    expect(votes).toHaveTextContent('exit');
    expect(screen.getByText('board 60% up → weight 0.30000000000000004')).toBeInTheDocument();
    expect(toggle).toHaveAttribute('aria-expanded', 'true');
  });

  it('pages to older decisions with the cursor the API returned and back', async () => {
    const api = mount(routes);
    await screen.findByTestId('decision-3');
    await userEvent.click(screen.getByRole('button', { name: 'Older' }));
    expect(await screen.findByTestId('decision-1')).toBeInTheDocument();
    expect(screen.queryByTestId('decision-3')).toBeNull();
    expect(screen.getByRole('button', { name: 'Older' })).toBeDisabled();
    await userEvent.click(screen.getByRole('button', { name: 'Newer' }));
    expect(await screen.findByTestId('decision-3')).toBeInTheDocument();
    expect(api.calls.filter((c) => c.path === PATH).length).toBeGreaterThanOrEqual(3);
  });

  it('draws the symbol price with one marker per target change', async () => {
    mount(routes);
    const chart = await screen.findByTestId('decisions-chart');
    await waitFor(() => expect(chart).toHaveAttribute('data-markers', '3'));
    expect(chart).toHaveAttribute('data-points', '4');
  });

  it('names the charted symbol apart from the table filter, and the chart picker changes only the chart', async () => {
    const api = mount({ ...routes, 'GET /api/v1/runs/run-1/prices': (req: Request) => json({ ...prices, symbol: new URL(req.url).searchParams.get('symbol') }) });
    expect(await screen.findByRole('heading', { name: 'AAPL price and target changes' })).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Decisions for all symbols' })).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByLabelText('chart symbol'), 'MSFT');
    expect(await screen.findByRole('heading', { name: 'MSFT price and target changes' })).toBeInTheDocument();
    expect(screen.getByLabelText('decision symbol')).toHaveValue('');
    expect(api.calls.some((c) => c.path === '/api/v1/runs/run-1/prices')).toBe(true);
  });

  it('says there is no run instead of failing when nothing is stored', async () => {
    mount({ 'GET /api/v1/runs': { live_run_id: null, runs: [] } });
    const empty = await screen.findAllByTestId('empty-state');
    expect(empty[0]).toHaveTextContent('papertrader demo');
  });
});

describe('decisionMarkers', () => {
  const points = [1, 2, 3, 5].map((d) => ({ time: Date.UTC(2005, 2, d, 5) / 1000, value: 40 + d }));

  it('puts each decision on the last bar that started before it, arrow up when the target rose', () => {
    const marks = decisionMarkers(points, [decision(2, { target_weight: 0.2 }), decision(4, { target_weight: 0.05 })]);
    expect(marks.map((m) => [m.time, m.shape])).toEqual([
      [points[1]!.time, 'arrowUp'],
      [points[2]!.time, 'arrowDown'],
    ]);
  });

  it('skips decisions before the first bar on the chart', () => {
    expect(decisionMarkers(points.slice(2), [decision(1)])).toEqual([]);
  });
});
