// Performance: equity beside buy-and-hold, drawdown, and daily P&L, with the numbers that summarise them.
import { TimeChart } from '../components/TimeChart';
import { Empty, Kpi, Loaded, Panel } from '../components/ui';
import { fmtDay, fmtPct, fmtSignedMoney, toChartTime, tone } from '../format';
import { useLiveCurve } from '../state/curve';
import { useLive } from '../state/live';
import { useResource } from '../state/resource';
import { useSession } from '../state/session';

const UP = '#2fbf71';
const DOWN = '#ef5350';

export function Performance() {
  const { api, run } = useSession();
  const live = useLive();
  const series = useResource(() => api.equity(run, 3000), [run, live.syncKey, live.version]);
  const daily = useResource(() => api.dailyPnl(run), [run, live.syncKey, live.version]);
  const curve = useLiveCurve(series.data, live.cycle);

  return (
    <div className="page" data-testid="page-performance">
      <Loaded resource={series} what="performance">
        {(s) => {
          if (!s.points.length) return <Empty title="No cycles yet">Performance appears after the first cycle.</Empty>;
          const first = s.points[0]!;
          const last = s.points[s.points.length - 1]!;
          const ret = last.equity / s.initial_cash - 1;
          const bench = last.benchmark === null ? null : last.benchmark / s.initial_cash - 1;
          return (
            <>
              <div className="kpis">
                <Kpi label="Strategy return" value={fmtPct(ret, 2, true)} tone={tone(ret)} sub={`${fmtDay(first.ts)} → ${fmtDay(last.ts)}`} testId="kpi-return" />
                <Kpi
                  label="Buy & hold return"
                  value={bench === null ? 'unavailable' : fmtPct(bench, 2, true)}
                  tone={tone(bench)}
                  sub={s.benchmark_name ?? s.benchmark_note ?? undefined}
                  testId="kpi-benchmark"
                />
                <Kpi label="Max drawdown" value={fmtPct(s.max_drawdown)} tone={s.max_drawdown < 0 ? 'down' : 'flat'} testId="kpi-maxdd" />
                <Kpi label="Points" value={String(s.points.length)} sub="cycles on the chart" />
              </div>
              <Panel title="Equity vs benchmark">
                <TimeChart
                  label="equity and benchmark"
                  format="money"
                  testId="performance-chart"
                  series={[
                    { id: 'equity', label: 'Strategy', kind: 'line', color: '#4f9dff', points: curve.equity },
                    ...(curve.benchmark.length
                      ? [{ id: 'benchmark', label: 'Buy & hold (same symbols, costs)', kind: 'line' as const, color: '#c9a227', points: curve.benchmark }]
                      : []),
                  ]}
                />
                {s.benchmark_note ? <p className="muted">Benchmark unavailable: {s.benchmark_note}</p> : null}
              </Panel>
              <Panel title="Drawdown">
                <TimeChart
                  label="drawdown from peak"
                  testId="drawdown-chart"
                  format="percent"
                  height={180}
                  series={[{ id: 'drawdown', label: 'Drawdown from peak', kind: 'area', color: DOWN, points: curve.drawdown }]}
                />
              </Panel>
            </>
          );
        }}
      </Loaded>
      <Panel title="Daily P&L">
        <Loaded resource={daily} what="daily P&L">
          {(d) => {
            if (!d.days.length) return <Empty title="No trading days yet" />;
            const wins = d.days.filter((x) => x.pnl > 0).length;
            const best = d.days.reduce((a, b) => (b.pnl > a.pnl ? b : a));
            const worst = d.days.reduce((a, b) => (b.pnl < a.pnl ? b : a));
            return (
              <>
                <div className="kpis kpis-small">
                  <Kpi label="Up days" value={fmtPct(wins / d.days.length, 0)} sub={`${wins} of ${d.days.length}`} />
                  <Kpi label="Best day" value={fmtSignedMoney(best.pnl)} sub={best.date} tone="up" />
                  <Kpi label="Worst day" value={fmtSignedMoney(worst.pnl)} sub={worst.date} tone="down" />
                </div>
                <TimeChart
                  label="daily profit and loss"
                  format="money"
                  testId="daily-chart"
                  height={180}
                  series={[
                    {
                      id: 'pnl',
                      label: 'Daily P&L (USD)',
                      kind: 'histogram',
                      color: UP,
                      points: d.days.map((x) => ({
                        time: toChartTime(`${x.date}T16:00:00-05:00`),
                        value: x.pnl,
                        color: x.pnl >= 0 ? UP : DOWN,
                      })),
                    },
                  ]}
                />
              </>
            );
          }}
        </Loaded>
      </Panel>
    </div>
  );
}
