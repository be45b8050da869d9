// Portfolio Overview: the account now (live when a run streams), its equity curve and open positions.
import type { CycleData, Portfolio, Position } from '../api/client';
import { TimeChart } from '../components/TimeChart';
import { Badge, Empty, Kpi, Loaded, Panel } from '../components/ui';
import { fmtDay, fmtMoney, fmtNumber, fmtPct, fmtSignedMoney, fmtStamp, tone } from '../format';
import { useLiveCurve } from '../state/curve';
import { useLive } from '../state/live';
import { useResource } from '../state/resource';
import { useSession } from '../state/session';

interface Account {
  equity: number;
  cash: number;
  totalPnl: number;
  totalReturn: number;
  drawdown: number;
  gross: number;
  positions: Position[] | null;
  asOf: string | null;
  cycle: number | null;
  progress: number | null;
  halted: string | null;
  working: number;
}

/** The stored portfolio, overlaid with the newest streamed cycle of the same run. */
function account(p: Portfolio, cycle: CycleData | null): Account {
  if (cycle && cycle.run_id === p.run_id && (p.cycle === null || cycle.cycle >= p.cycle)) {
    return {
      equity: cycle.equity,
      cash: cycle.cash,
      totalPnl: cycle.total_pnl,
      totalReturn: cycle.total_return,
      drawdown: cycle.drawdown,
      gross: cycle.gross_exposure,
      positions: cycle.positions,
      asOf: cycle.ts,
      cycle: cycle.cycle,
      progress: cycle.progress,
      halted: cycle.halted,
      working: cycle.working_orders,
    };
  }
  return {
    equity: p.equity,
    cash: p.cash,
    totalPnl: p.total_pnl,
    totalReturn: p.total_return,
    drawdown: p.drawdown,
    gross: p.gross_exposure,
    positions: null,
    asOf: p.as_of,
    cycle: p.cycle,
    progress: p.progress,
    halted: p.halted,
    working: p.working_orders,
  };
}

export function PositionsTable({ positions }: { positions: Position[] }) {
  if (!positions.length) return <Empty title="No open positions">The account is all cash right now.</Empty>;
  return (
    <div className="table-wrap">
      <table data-testid="positions-table">
        <thead>
          <tr>
            <th>Symbol</th>
            <th className="num">Qty</th>
            <th className="num">Avg price</th>
            <th className="num">Mark</th>
            <th className="num">Value</th>
            <th className="num">Unrealised</th>
            <th className="num">Weight</th>
          </tr>
        </thead>
        <tbody>
          {positions.map((p) => (
            <tr key={p.symbol}>
              <td>{p.symbol}</td>
              <td className="num">{fmtNumber(p.qty)}</td>
              <td className="num">{fmtMoney(p.avg_price)}</td>
              <td className="num">{fmtMoney(p.mark)}</td>
              <td className="num">{fmtMoney(p.market_value)}</td>
              <td className={`num ${tone(p.unrealized_pnl)}`}>{fmtSignedMoney(p.unrealized_pnl)}</td>
              <td className="num">{fmtPct(p.weight, 1)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Overview() {
  const { api, run } = useSession();
  const live = useLive();
  const portfolio = useResource(() => api.portfolio(run), [run, live.syncKey, live.version]);
  const positions = useResource(() => api.positions(run), [run, live.syncKey, live.version]);
  const series = useResource(() => api.equity(run, 3000), [run, live.syncKey]);
  const curve = useLiveCurve(series.data, live.cycle);

  return (
    <div className="page" data-testid="page-overview">
      <Loaded resource={portfolio} what="portfolio">
        {(p) => {
          const a = account(p, live.cycle);
          return (
            <>
              {a.halted ? (
                <div className="banner banner-bad" role="alert">
                  Trading halted: {a.halted}.{p.source === 'live' ? ' Reset it under System Controls.' : ''}
                </div>
              ) : null}
              <div className="run-line">
                <Badge kind={p.source === 'live' ? 'good' : 'neutral'}>{p.source === 'live' ? 'live' : 'stored'}</Badge>
                <span>
                  run <code>{p.run_id}</code> · {p.mode} · {p.interval} · {p.symbols.join(', ')} · {p.status}
                </span>
              </div>
              <div className="kpis">
                <Kpi
                  label="Equity"
                  value={fmtMoney(a.equity)}
                  sub={`as of ${fmtDay(a.asOf)}`}
                  testId="kpi-equity"
                />
                <Kpi
                  label="Total P&L"
                  value={fmtSignedMoney(a.totalPnl)}
                  sub={`${fmtPct(a.totalReturn, 2, true)} on ${fmtMoney(p.initial_cash, true)}`}
                  tone={tone(a.totalPnl)}
                  testId="kpi-pnl"
                />
                <Kpi label="Cash" value={fmtMoney(a.cash)} sub={`fees paid ${fmtMoney(p.fees_paid)}`} testId="kpi-cash" />
                <Kpi
                  label="Drawdown"
                  value={fmtPct(a.drawdown)}
                  sub={`max ${fmtPct(Math.min(p.max_drawdown, a.drawdown))}`}
                  tone={a.drawdown < 0 ? 'down' : 'flat'}
                  testId="kpi-drawdown"
                />
                <Kpi label="Gross exposure" value={fmtPct(a.gross, 1)} sub={`${a.working} working orders`} testId="kpi-exposure" />
                <Kpi
                  label="Progress"
                  value={a.progress === null ? '—' : fmtPct(a.progress, 0)}
                  sub={`${fmtNumber(p.cycles_done)} cycles (bars) run`}
                  testId="kpi-progress"
                />
              </div>
            </>
          );
        }}
      </Loaded>
      <Panel title="Equity" testId="overview-equity">
        <Loaded resource={series} what="equity curve">
          {() =>
            curve.equity.length ? (
              <TimeChart
                label="equity over time"
                format="money"
                testId="equity-chart"
                height={260}
                series={[
                  { id: 'equity', label: 'Strategy equity', kind: 'area', color: '#4f9dff', points: curve.equity },
                  ...(curve.benchmark.length
                    ? [{ id: 'benchmark', label: 'Buy & hold (same symbols, same costs)', kind: 'line' as const, color: '#c9a227', points: curve.benchmark }]
                    : []),
                ]}
              />
            ) : (
              <Empty title="No cycles yet">The curve appears once the run has processed its first cycle.</Empty>
            )
          }
        </Loaded>
      </Panel>
      <div className="grid-2">
        <Panel title="Open positions">
          {live.cycle && portfolio.data && live.cycle.run_id === portfolio.data.run_id ? (
            <PositionsTable positions={live.cycle.positions} />
          ) : (
            <Loaded resource={positions} what="positions">
              {(data) => <PositionsTable positions={data.positions} />}
            </Loaded>
          )}
        </Panel>
        <Panel title="Live activity">
          {live.feed.length ? (
            <ul className="feed" data-testid="feed">
              {live.feed.slice(0, 12).map((item) => (
                <li key={item.id} className={`feed-${item.severity}`}>
                  <span className="feed-time">{fmtStamp(item.ts)}</span>
                  <Badge kind={item.type === 'risk' ? 'warn' : item.type === 'fill' ? 'info' : 'neutral'}>{item.type}</Badge>
                  <span>{item.text}</span>
                </li>
              ))}
            </ul>
          ) : (
            <Empty title="Nothing streamed yet">
              {live.status === 'open'
                ? 'Fills, signals and alerts appear here as the engine produces them.'
                : 'Waiting for the live stream.'}
            </Empty>
          )}
        </Panel>
      </div>
    </div>
  );
}
