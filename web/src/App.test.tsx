// The shell end to end in jsdom: token gate, #token= hand-off, live overview, empty and error states.
import { act, render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { json, fakeApi, fakeStream } from './test/fakes';
import * as fx from './test/fixtures';

const BASE = 'http://localhost';

const liveRoutes = {
  'GET /api/v1/portfolio': fx.portfolio,
  'GET /api/v1/positions': fx.positions,
  'GET /api/v1/equity': fx.equity,
  'GET /api/v1/runs': fx.runs,
  'GET /api/v1/control': fx.control,
};

function start(routes: Record<string, unknown>, hash = '#token=good-token') {
  window.location.hash = hash;
  const api = fakeApi(routes);
  const stream = fakeStream();
  render(<App client={{ baseUrl: BASE, fetch: api.fetch }} connect={stream.connect} />);
  return { api, stream };
}

describe('App', () => {
  it('asks for a token when none is known, refuses a wrong one and accepts the right one', async () => {
    const api = fakeApi(liveRoutes);
    render(<App client={{ baseUrl: BASE, fetch: api.fetch }} connect={fakeStream().connect} />);
    const gate = await screen.findByTestId('token-gate');
    const input = within(gate).getByLabelText('API token');
    await userEvent.type(input, 'bad-token');
    await userEvent.click(within(gate).getByRole('button', { name: 'Open dashboard' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('refused');
    await userEvent.clear(input);
    await userEvent.type(input, 'good-token');
    await userEvent.click(within(gate).getByRole('button', { name: 'Open dashboard' }));
    expect(await screen.findByTestId('kpi-equity-value')).toHaveTextContent('$102,345.67');
    expect(window.localStorage.getItem('papertrader.api-token')).toBe('good-token');
  });

  it('takes the token from the URL the CLI prints, removes it from the address bar and shows API numbers', async () => {
    const { api } = start(liveRoutes);
    expect(await screen.findByTestId('kpi-equity-value')).toHaveTextContent('$102,345.67');
    expect(window.location.hash).toBe('#/overview');
    expect(screen.getByTestId('kpi-pnl-value')).toHaveTextContent('+$2,345.67');
    expect(screen.getByTestId('kpi-drawdown-value')).toHaveTextContent('-0.64%');
    expect(await screen.findByTestId('positions-table')).toHaveTextContent('AAPL');
    expect(api.calls.every((c) => c.path === '/api/v1/health' || c.auth === 'Bearer good-token')).toBe(true);
  });

  it('updates the equity figure and chart from streamed cycles', async () => {
    const { stream } = start(liveRoutes);
    await screen.findByTestId('kpi-equity-value');
    const chart = await screen.findByTestId('equity-chart');
    expect(chart).toHaveAttribute('data-points', '3');
    act(() => stream.push({ type: 'cycle', data: fx.cycle() }));
    expect(screen.getByTestId('kpi-equity-value')).toHaveTextContent('$104,321.09');
    expect(screen.getByTestId('equity-chart')).toHaveAttribute('data-points', '4');
    expect(screen.getByTestId('equity-chart')).toHaveAttribute('data-last', '104321.09');
    expect(screen.getByTestId('stream-status')).toHaveTextContent('live');
  });

  it('shows the API sentence when there is nothing stored yet, not placeholder numbers', async () => {
    start({ 'GET /api/v1/runs': { live_run_id: null, runs: [] }, 'GET /api/v1/control': fx.control });
    const sentences = await screen.findAllByText(/no runs stored yet: start one with/);
    expect(sentences.length).toBeGreaterThan(0);
    await waitFor(() => expect(screen.queryByRole('status')).toBeNull());
    expect(screen.queryByTestId('kpi-equity-value')).toBeNull();
    expect(document.body.textContent).not.toMatch(/\$\d/);
  });

  it('shows an error with a retry when the API fails, and recovers', async () => {
    let fail = true;
    start({
      ...liveRoutes,
      'GET /api/v1/portfolio': () => (fail ? json({ detail: 'database is locked' }, 503) : json(fx.portfolio)),
    });
    const error = await screen.findByTestId('error-state');
    expect(error).toHaveTextContent('503');
    expect(error).toHaveTextContent('database is locked');
    fail = false;
    await userEvent.click(within(error).getByRole('button', { name: 'Try again' }));
    expect(await screen.findByTestId('kpi-equity-value')).toHaveTextContent('$102,345.67');
  });

  it('signs in when a #token= URL is pasted into a tab already showing the token form', async () => {
    const api = fakeApi(liveRoutes);
    render(<App client={{ baseUrl: BASE, fetch: api.fetch }} connect={fakeStream().connect} />);
    await screen.findByTestId('token-gate');
    act(() => {
      window.location.hash = '#token=good-token';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    expect(await screen.findByTestId('kpi-equity-value')).toHaveTextContent('$102,345.67');
    expect(window.location.hash).toBe('#/overview');
  });

  it('goes back to the token form when the API refuses the stored token', async () => {
    window.localStorage.setItem('papertrader.api-token', 'stale-token');
    const api = fakeApi(liveRoutes);
    render(<App client={{ baseUrl: BASE, fetch: api.fetch }} connect={fakeStream().connect} />);
    expect(await screen.findByTestId('token-gate')).toHaveTextContent('refused the token');
    expect(window.localStorage.getItem('papertrader.api-token')).toBeNull();
  });

  it('navigates between the seven pages by hash', async () => {
    start({ ...liveRoutes, 'GET /api/v1/health': fx.health, 'GET /api/v1/audit': { entries: [] } });
    await screen.findByTestId('page-overview');
    const nav = screen.getByRole('navigation', { name: 'pages' });
    expect(within(nav).getAllByRole('link').map((a) => a.textContent)).toEqual([
      'Portfolio',
      'Performance',
      'AI Signals',
      'Decisions',
      'Risk Monitor',
      'Trade Log',
      'System Controls',
    ]);
    act(() => {
      window.location.hash = '#/controls';
      window.dispatchEvent(new HashChangeEvent('hashchange'));
    });
    expect(await screen.findByTestId('page-controls')).toBeInTheDocument();
    await waitFor(() => expect(within(nav).getByText('System Controls')).toHaveAttribute('aria-current', 'page'));
  });
});
