// Decisions: the run's price chart with a marker at every target change, and each decision with the board's votes.
import { Fragment, useEffect, useMemo, useState } from 'react';
import { ApiError, type Decision, type Prices } from '../api/client';
import { TimeChart, type ChartMarker, type ChartPoint } from '../components/TimeChart';
import { Empty, Loaded, Panel } from '../components/ui';
import { VoteChips, VotesTable, plainRationale } from '../components/Votes';
import { fmtDay, fmtMoney, fmtPct, fmtStamp, toChartTime } from '../format';
import { useLive } from '../state/live';
import { useResource } from '../state/resource';
import { useSession } from '../state/session';

const UP = '#2fbf71';
const DOWN = '#ef5350';
const PAGE = 50;
const NO_RUN = 'no runs stored yet: start one with `papertrader demo` or `papertrader paper --replay`';

/**
 * One marker per target change, on the last bar at or before the decision (a decision is made at a bar's close,
 * the bar is stamped at its start); arrows say whether the target rose or fell from the previous decision.
 */
export function decisionMarkers(points: ChartPoint[], decisions: Decision[]): ChartMarker[] {
  if (!points.length) return [];
  const chronological = [...decisions].sort((a, b) => a.seq - b.seq);
  const out: ChartMarker[] = [];
  let previous = 0;
  let j = 0;
  for (const d of chronological) {
    const t = toChartTime(d.ts);
    while (j + 1 < points.length && points[j + 1]!.time <= t) j += 1;
    const up = d.target_weight > previous;
    previous = d.target_weight;
    if (points[j]!.time > t) continue; // before the first bar on the chart
    out.push({
      time: points[j]!.time,
      position: up ? 'belowBar' : 'aboveBar',
      shape: up ? 'arrowUp' : 'arrowDown',
      color: up ? UP : DOWN,
      text: fmtPct(d.target_weight, 0),
    });
  }
  return out;
}

function DecisionRows({ decision }: { decision: Decision }) {
  const [open, setOpen] = useState(false);
  return (
    <Fragment>
      <tr data-testid={`decision-${decision.seq}`}>
        <td>
          <button
            type="button"
            className="link"
            aria-expanded={open}
            aria-label={`${open ? 'hide' : 'show'} votes of ${decision.symbol} at ${fmtStamp(decision.ts)}`}
            onClick={() => setOpen(!open)}
          >
            {open ? '▾' : '▸'}
          </button>
        </td>
        <td>{fmtStamp(decision.ts)}</td>
        <td>{decision.symbol}</td>
        <td className="num">{fmtPct(decision.target_weight, 1)}</td>
        <td className="num">{fmtPct(decision.confidence, 0)}</td>
        <td>
          {decision.votes.length ? <VoteChips votes={decision.votes} /> : <span className="muted">{decision.source}</span>}
        </td>
      </tr>
      {open ? (
        <tr className="votes-row">
          <td />
          <td colSpan={5}>
            <p className="rationale">{plainRationale(decision.rationale)}</p>
            <VotesTable votes={decision.votes} testId={`votes-${decision.seq}`} />
          </td>
        </tr>
      ) : null}
    </Fragment>
  );
}

function PriceChart({ prices, decisions }: { prices: Prices; decisions: Decision[] }) {
  const points = useMemo(() => prices.points.map((p) => ({ time: toChartTime(p.ts), value: p.close })), [prices]);
  const markers = useMemo(() => decisionMarkers(points, decisions), [points, decisions]);
  if (!points.length) return <Empty title={`No ${prices.symbol} prices to show`}>{prices.note}</Empty>;
  const last = prices.points[prices.points.length - 1]!;
  return (
    <>
      <TimeChart
        label={`${prices.symbol} close with target changes`}
        format="money"
        testId="decisions-chart"
        height={260}
        series={[{ id: `close-${prices.symbol}`, label: `${prices.symbol} close`, kind: 'line', color: '#4f9dff', points }]}
        markers={markers}
        zoomable
      />
      <p className="muted small">
        {markers.length} target changes marked · last close {fmtMoney(last.close)} on {prices.interval === '1d' ? fmtDay(last.ts) : fmtStamp(last.ts)} · arrows up where the
        target rose, down where it fell · labels show the new target where there is room: scroll or pinch to zoom for more
      </p>
    </>
  );
}

export function Decisions() {
  const { api, run } = useSession();
  const live = useLive();
  const runs = useResource(() => api.runs(), [live.syncKey]);
  const runId = run ?? runs.data?.live_run_id ?? runs.data?.runs[0]?.id ?? null;
  const symbols = runs.data?.runs.find((r) => r.id === runId)?.symbols ?? [];
  const [symbol, setSymbol] = useState<string | null>(null);
  const [chartPick, setChartPick] = useState<string | null>(null); // the chart shows one symbol even when the table shows all
  const [cursors, setCursors] = useState<number[]>([]); // `before` of each page shown so far; empty = newest
  const before = cursors.length ? cursors[cursors.length - 1]! : null;
  const chartSymbol = symbol ?? (chartPick && symbols.includes(chartPick) ? chartPick : null) ?? symbols[0] ?? null;

  useEffect(() => setCursors([]), [runId, symbol]);
  const noRun = () => Promise.reject(new ApiError(404, runs.error?.message ?? NO_RUN));
  const page = useResource(
    () => (runId ? api.decisions(runId, symbol, PAGE, before) : noRun()),
    [runId, symbol, before, live.syncKey, before === null ? live.version : 0],
  );
  const prices = useResource(
    () => (runId && chartSymbol ? api.prices(runId, chartSymbol) : noRun()),
    [runId, chartSymbol, live.syncKey, live.version],
  );
  const marked = useResource(
    () => (runId && chartSymbol ? api.decisions(runId, chartSymbol, 1000) : noRun()),
    [runId, chartSymbol, live.syncKey, live.version],
  );

  const picker = (
    <label className="inline">
      Decisions of{' '}
      <select value={symbol ?? ''} onChange={(e) => setSymbol(e.target.value || null)} aria-label="decision symbol">
        <option value="">all symbols</option>
        {symbols.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );
  const chartPicker = (
    <label className="inline">
      Chart{' '}
      <select
        value={chartSymbol ?? ''}
        onChange={(e) => {
          setChartPick(e.target.value);
          if (symbol) setSymbol(e.target.value);
        }}
        aria-label="chart symbol"
      >
        {symbols.map((s) => (
          <option key={s} value={s}>
            {s}
          </option>
        ))}
      </select>
    </label>
  );

  return (
    <div className="page" data-testid="page-decisions">
      <Panel title={chartSymbol ? `${chartSymbol} price and target changes` : 'Price and target changes'} actions={chartPicker}>
        <Loaded resource={prices} what="prices">
          {(p) => <PriceChart prices={p} decisions={marked.data?.decisions ?? []} />}
        </Loaded>
      </Panel>
      <Panel title={symbol ? `Decisions for ${symbol}` : 'Decisions for all symbols'} actions={picker}>
        <Loaded resource={page} what="decisions">
          {(data) =>
            data.decisions.length ? (
              <>
                <p className="muted small" data-testid="decisions-count">
                  {data.total} decisions{data.symbol ? ` for ${data.symbol}` : ''} in run <code>{data.run_id}</code>, newest first;
                  open a row for every member's vote, weight and reason.
                </p>
                <div className="table-wrap">
                  <table data-testid="decisions-table">
                    <thead>
                      <tr>
                        <th aria-label="votes" />
                        <th>Time</th>
                        <th>Symbol</th>
                        <th className="num">Target</th>
                        <th className="num">Confidence</th>
                        <th>Members with a view (P(up))</th>
                      </tr>
                    </thead>
                    <tbody>
                      {data.decisions.map((d) => (
                        <DecisionRows key={d.seq} decision={d} />
                      ))}
                    </tbody>
                  </table>
                </div>
                <div className="pager">
                  <button type="button" disabled={!cursors.length} onClick={() => setCursors([])}>
                    Newest
                  </button>
                  <button type="button" disabled={!cursors.length} onClick={() => setCursors(cursors.slice(0, -1))}>
                    Newer
                  </button>
                  <button
                    type="button"
                    disabled={data.next_before === null}
                    onClick={() => data.next_before !== null && setCursors([...cursors, data.next_before])}
                  >
                    Older
                  </button>
                </div>
              </>
            ) : (
              <Empty title="No decisions yet">
                A decision is stored each time the strategy changes a symbol's target; the board's carry every member's
                vote.
              </Empty>
            )
          }
        </Loaded>
      </Panel>
    </div>
  );
}
