// AI Signals: every model's latest target per symbol, the ensemble's decision with its votes, recent changes.
// Board votes are the ensemble's own (member, P(up)/P(down), weight, exit, reason), shown as on the Decisions page.
import { useState } from 'react';
import type { Signal, Signals as SignalsData } from '../api/client';
import { Badge, Empty, Loaded, Panel } from '../components/ui';
import { VotesTable, plainRationale, spoke } from '../components/Votes';
import { fmtPct, fmtStamp } from '../format';
import { useLive } from '../state/live';
import { useResource } from '../state/resource';
import { useSession } from '../state/session';

function WeightBar({ weight }: { weight: number }) {
  return (
    <span className="wbar" title={fmtPct(weight, 1)}>
      <span className={`wbar-fill ${weight < 0 ? 'neg' : ''}`} style={{ width: `${Math.min(100, Math.abs(weight) * 100)}%` }} />
    </span>
  );
}

function Vote({ signal }: { signal: Signal }) {
  return (
    <li className="vote">
      <div className="vote-head">
        <Badge kind={signal.model === 'ensemble' ? 'good' : 'info'}>{signal.model}</Badge>
        {signal.source !== signal.model ? <code>{signal.source}</code> : null}
        <span className="num">{fmtPct(signal.target_weight, 1)}</span>
        <WeightBar weight={signal.target_weight} />
        <span className="muted">confidence {fmtPct(signal.confidence, 0)}</span>
      </div>
      <div className="rationale">{signal.rationale ? plainRationale(signal.rationale) : 'no rationale given'}</div>
      {signal.votes.length ? (
        <div className="votes" data-testid={`votes-${signal.symbol}-${signal.source}`}>
          <div className="muted small">
            {spoke(signal.votes).length} of {signal.votes.length} members with a view:
          </div>
          <VotesTable votes={signal.votes} />
        </div>
      ) : null}
      <div className="muted small">since {fmtStamp(signal.ts)}</div>
    </li>
  );
}

/** Who decides this run's orders, in words ("the board", a single model) instead of source names. */
export function sourceSentence(data: SignalsData): string {
  const src = data.decision_source;
  if (!src) return 'No decision source has produced a target yet.';
  if (src === data.ensemble_source || src === 'ensemble') {
    return 'Orders follow the board: every member votes and the weighted vote sets each target.';
  }
  return `Orders follow one strategy, ${src}, alone.`;
}

function Board({ data }: { data: SignalsData }) {
  return (
    <>
      <div className="run-line">
        <span data-testid="signals-source">{sourceSentence(data)}</span>
        {data.models.map((m) => (
          <Badge key={m.source} kind={m.drives_orders ? 'good' : 'neutral'}>
            {m.source === m.model ? m.model : `${m.model} ${m.source}`}: {m.signals} target changes
          </Badge>
        ))}
      </div>
      {data.note ? <p className="note">{data.note}</p> : null}
      {data.symbols.length ? (
        <div className="cards">
          {data.symbols.map((s) => (
            <article className="card" key={s.symbol} data-testid={`signal-card-${s.symbol}`}>
              <h3>{s.symbol}</h3>
              {s.ensemble || s.models.length ? (
                <ul className="vote-list">
                  {s.ensemble ? <Vote signal={s.ensemble} /> : null}
                  {s.models.map((m) => (
                    <Vote key={m.source} signal={m} />
                  ))}
                </ul>
              ) : (
                <p className="muted">No model has emitted a signal for {s.symbol} yet.</p>
              )}
            </article>
          ))}
        </div>
      ) : (
        <Empty title="No symbols" />
      )}
    </>
  );
}

export function Signals() {
  const { api, run } = useSession();
  const live = useLive();
  const [symbol, setSymbol] = useState<string | null>(null);
  const all = useResource(() => api.signals(run, null), [run, live.syncKey, live.version]);
  const chosen = useResource(() => (symbol ? api.signals(run, symbol) : Promise.resolve(null)), [run, symbol, live.syncKey, live.version]);
  const symbols = all.data?.symbols.map((s) => s.symbol) ?? [];
  const shown = symbol ? chosen : all;

  return (
    <div className="page" data-testid="page-signals">
      <Panel
        title="Signals by symbol and model"
        actions={
          <label className="inline">
            Symbol{' '}
            <select value={symbol ?? ''} onChange={(e) => setSymbol(e.target.value || null)} aria-label="symbol filter">
              <option value="">all</option>
              {symbols.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        }
      >
        <Loaded resource={all} what="signals">
          {(data) => <Board data={(symbol && shown.data) || data} />}
        </Loaded>
      </Panel>
      <Panel title="Recent target changes">
        <Loaded resource={all} what="signals">
          {(data) =>
            data.recent.length ? (
              <div className="table-wrap">
                <table data-testid="signals-recent">
                  <thead>
                    <tr>
                      <th>Time</th>
                      <th>Symbol</th>
                      <th>Model</th>
                      <th className="num">Target</th>
                      <th className="num">Confidence</th>
                      <th>Rationale</th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.recent.slice(0, 50).map((s, i) => (
                      <tr key={`${s.ts}-${s.symbol}-${s.source}-${i}`}>
                        <td>{fmtStamp(s.ts)}</td>
                        <td>{s.symbol}</td>
                        <td>
                          {s.model} {s.source !== s.model ? <span className="muted">{s.source}</span> : null}
                        </td>
                        <td className="num">{fmtPct(s.target_weight, 1)}</td>
                        <td className="num">{fmtPct(s.confidence, 0)}</td>
                        <td className="rationale">{plainRationale(s.rationale)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <Empty title="No target changes yet" />
            )
          }
        </Loaded>
      </Panel>
    </div>
  );
}
