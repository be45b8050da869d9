// Risk Monitor: drawdown and exposure against the run's limits, capital buckets, halt state and alerts.
import type { Risk as RiskData } from '../api/client';
import { Badge, Empty, Kpi, Loaded, Meter, Panel } from '../components/ui';
import { fmtMoney, fmtPct, fmtStamp } from '../format';
import { useLive } from '../state/live';
import { useResource } from '../state/resource';
import { useSession } from '../state/session';

const SEVERITY = { info: 'info', warning: 'warn', critical: 'bad' } as const;

/** Alert kinds in words (the event names stay in the API). */
export const KIND_WORDS: Record<string, string> = {
  'order.denied': 'orders denied',
  'order.reduced': 'targets cut by a limit',
  'order.resized': 'targets raised by sizing',
  'order.rejected': 'orders rejected',
  health: 'health changes',
  halt: 'halts and resets',
  'risk.kill_switch': 'kill switch',
  'risk.daily_loss_limit': 'daily loss limit',
  'risk.flatten': 'flatten',
};

function settingText(value: unknown): string {
  if (value === null || value === undefined) return 'off';
  if (Array.isArray(value)) return value.length ? value.join(', ') : 'none';
  if (typeof value === 'object') return Object.keys(value).length ? JSON.stringify(value) : 'none';
  return String(value);
}

function Limits({ risk }: { risk: RiskData }) {
  const l = risk.limits;
  const pct = (v: number) => fmtPct(v, 1);
  return (
    <div className="meters">
      {l.max_drawdown !== null ? (
        <Meter label="Drawdown vs kill switch" value={risk.drawdown} limit={l.max_drawdown} format={pct} />
      ) : null}
      <Meter label="Gross exposure" value={risk.gross_exposure} limit={l.max_gross_exposure} format={pct} />
      {risk.largest_position ? (
        <Meter
          label={`Largest position (${risk.largest_position.symbol})`}
          value={risk.largest_position.weight}
          limit={l.max_position_fraction}
          format={pct}
        />
      ) : null}
    </div>
  );
}

// Gross weight per sector held, against the sector cap (risk.sectors over the universe file's sectors).
function Sectors({ risk }: { risk: RiskData }) {
  const sectors = risk.sectors ?? [];
  if (!sectors.length) return null;
  return (
    <div className="table-wrap">
      <table data-testid="sectors">
        <thead>
          <tr>
            <th>Sector</th>
            <th className="num">Weight</th>
            <th className="num">Cap</th>
            <th>Symbols</th>
          </tr>
        </thead>
        <tbody>
          {sectors.map((s) => (
            <tr key={s.name} className={s.weight > s.cap + 1e-9 ? 'over-cap' : undefined}>
              <td>{s.name}</td>
              <td className="num">{fmtPct(s.weight, 1)}</td>
              <td className="num">{fmtPct(s.cap, 0)}</td>
              <td>{s.symbols.join(', ') || '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function Risk() {
  const { api, run } = useSession();
  const live = useLive();
  const risk = useResource(() => api.risk(run), [run, live.syncKey, live.version]);
  return (
    <div className="page" data-testid="page-risk">
      <Loaded resource={risk} what="risk state">
        {(r) => (
          <>
            {r.halted ? (
              <div className="banner banner-bad" role="alert" data-testid="halted-banner">
                Trading halted: {r.halted}
              </div>
            ) : (
              <div className="banner banner-good">Trading allowed: no kill switch or flatten in force.</div>
            )}
            <div className="kpis">
              <Kpi label="Drawdown" value={fmtPct(r.drawdown)} sub={`peak ${fmtMoney(r.peak_equity)}`} tone={r.drawdown < 0 ? 'down' : 'flat'} />
              <Kpi label="Max drawdown" value={fmtPct(r.max_drawdown)} tone={r.max_drawdown < 0 ? 'down' : 'flat'} />
              <Kpi label="Gross exposure" value={fmtPct(r.gross_exposure, 1)} sub={`${fmtPct(r.gross_limit_used, 0)} of the limit`} />
              <Kpi
                label="Kill switch at"
                value={r.limits.max_drawdown === null ? 'not configured' : `-${fmtPct(r.limits.max_drawdown, 0)}`}
                sub={r.limits.daily_loss_limit === null ? undefined : `daily loss limit ${fmtPct(r.limits.daily_loss_limit, 1)}`}
              />
            </div>
            <div className="grid-2">
              <Panel title="Limits in use">
                <Limits risk={r} />
                {r.buckets.length ? (
                  <div className="table-wrap">
                    <table data-testid="buckets">
                      <thead>
                        <tr>
                          <th>Bucket</th>
                          <th className="num">Weight</th>
                          <th className="num">Cap</th>
                          <th>Symbols</th>
                        </tr>
                      </thead>
                      <tbody>
                        {r.buckets.map((b) => (
                          <tr key={b.name}>
                            <td>{b.name}</td>
                            <td className="num">{fmtPct(b.weight, 1)}</td>
                            <td className="num">{fmtPct(b.cap, 0)}</td>
                            <td>{b.symbols.join(', ') || '—'}</td>
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                ) : null}
                <Sectors risk={r} />
              </Panel>
              <Panel title={`Alerts (${r.alerts.length})`}>
                <div className="chips">
                  {Object.entries(r.alert_counts).map(([kind, n]) => (
                    <Badge key={kind}>
                      {KIND_WORDS[kind] ?? kind}: {n}
                    </Badge>
                  ))}
                </div>
                {r.alerts.length ? (
                  <ul className="alerts" data-testid="alerts">
                    {r.alerts.slice(0, 60).map((a, i) => (
                      <li key={`${a.ts}-${a.kind}-${i}`}>
                        <Badge kind={SEVERITY[a.severity]}>{a.severity}</Badge>
                        <span className="feed-time">{fmtStamp(a.ts)}</span>
                        <span>{a.message}</span>
                      </li>
                    ))}
                  </ul>
                ) : (
                  <Empty title="No alerts">Nothing was denied, cut, raised, rejected or halted.</Empty>
                )}
              </Panel>
            </div>
            <Panel title="All risk settings of this run">
              <dl className="settings">
                {Object.entries(r.limits.settings).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{settingText(v)}</dd>
                  </div>
                ))}
              </dl>
            </Panel>
          </>
        )}
      </Loaded>
    </div>
  );
}
