// System Controls: steer the live run (pause, resume, stop, flatten, kill-switch reset, paper/observe, speed),
// health and audit.
import { useState } from 'react';
import { ApiError, type Control } from '../api/client';
import { Badge, Empty, ErrorBox, Kpi, Loaded, Panel } from '../components/ui';
import { fmtMs, fmtPct, fmtSpeed, fmtStamp } from '../format';
import { useLive } from '../state/live';
import { useResource } from '../state/resource';
import { useSession } from '../state/session';

const PRESETS: { label: string; speed: number }[] = [
  { label: '1 day/s', speed: 86_400 },
  { label: '10 days/s', speed: 864_000 },
  { label: '50 days/s', speed: 4_320_000 },
  { label: 'max', speed: 0 },
];

type Action = 'pause' | 'resume' | 'stop' | 'flatten' | 'reset';

function stateBadges(c: Control) {
  if (!c.run_id) {
    return (
      <div className="chips" data-testid="control-state">
        <Badge>idle</Badge>
      </div>
    );
  }
  const loop = c.stopping ? (
    <Badge kind="bad">stopping</Badge>
  ) : !c.available ? (
    <Badge>ended</Badge>
  ) : c.paused ? (
    <Badge kind="warn">paused</Badge>
  ) : (
    <Badge kind="good">running</Badge>
  );
  return (
    <div className="chips" data-testid="control-state">
      {loop}
      {c.halted ? <Badge kind="bad">halted</Badge> : null}
      {c.flatten_requested ? <Badge kind="warn">flatten requested</Badge> : null}
    </div>
  );
}

export function Controls() {
  const { api } = useSession();
  const live = useLive();
  const fetched = useResource(() => api.control(), [live.syncKey]);
  const health = useResource(() => api.health(), [live.syncKey, live.version]);
  const audit = useResource(() => api.audit(), [live.syncKey, live.version]);
  const config = useResource(() => api.config(null), [live.syncKey]);
  const [busy, setBusy] = useState<string | null>(null);
  const [failure, setFailure] = useState<ApiError | null>(null);
  const [confirm, setConfirm] = useState<Action | null>(null);
  const [speed, setSpeed] = useState('');
  const control = live.control ?? fetched.data;

  const run = async (name: string, call: () => Promise<Control>) => {
    setBusy(name);
    setFailure(null);
    try {
      live.applyControl(await call());
      audit.reload();
    } catch (exc) {
      setFailure(exc instanceof ApiError ? exc : new ApiError(0, String(exc)));
    } finally {
      setBusy(null);
      setConfirm(null);
    }
  };

  const act = (action: Action, needsConfirm = false) => () => {
    if (needsConfirm && confirm !== action) {
      setConfirm(action);
      return;
    }
    void run(action, api[action]);
  };

  const applySpeed = (value: number) => {
    if (!Number.isFinite(value) || value < 0) {
      setFailure(new ApiError(422, 'Speed must be a number of market seconds per wall second, 0 or more.'));
      return;
    }
    void run('speed', () => api.speed(value));
  };

  const disabled = !control?.available || busy !== null;
  return (
    <div className="page" data-testid="page-controls">
      <Panel title="Run controls" testId="controls-panel">
        {control ? (
          <>
            <div className="run-line">
              {control.run_id ? (
                <span>
                  run <code>{control.run_id}</code> · <span data-testid="control-mode">{control.mode ?? '—'}</span> run ·{' '}
                  <strong data-testid="control-trading">
                    {control.trading === 'observe' ? 'observe only' : control.trading === 'paper' ? 'paper trading' : '—'}
                  </strong>
                </span>
              ) : (
                <span>No run is executing in this process.</span>
              )}
              {stateBadges(control)}
            </div>
            {!control.available ? (
              <p className="note" data-testid="controls-unavailable">
                {control.reason}
              </p>
            ) : null}
            {control.halted ? <div className="banner banner-bad">Halted: {control.halted}</div> : null}
            <div className="buttons">
              <button type="button" onClick={act('pause')} disabled={disabled || control.paused} data-testid="btn-pause">
                Pause
              </button>
              <button type="button" onClick={act('resume')} disabled={disabled || !control.paused} data-testid="btn-resume">
                Resume
              </button>
              <button type="button" className="warn" onClick={act('flatten', true)} disabled={disabled} data-testid="btn-flatten">
                {confirm === 'flatten' ? 'Confirm: flatten everything' : 'Flatten all'}
              </button>
              <button type="button" onClick={act('reset', true)} disabled={disabled || !control.halted} data-testid="btn-reset">
                {confirm === 'reset' ? 'Confirm: trade again' : 'Reset kill switch'}
              </button>
              <button type="button" className="danger" onClick={act('stop', true)} disabled={disabled} data-testid="btn-stop">
                {confirm === 'stop' ? 'Confirm: stop the run' : 'Stop run'}
              </button>
            </div>
            <div className="speed" data-testid="trading-mode">
              <span>
                Orders:{' '}
                <span className="muted">
                  paper trading turns decisions into paper orders; observe only keeps signals and risk running and sends
                  no new orders (a halt still flattens). Applies from the next cycle; a resumed run keeps it.
                </span>
              </span>
              <div className="buttons">
                <button
                  type="button"
                  disabled={disabled || control.trading === 'paper'}
                  onClick={() => void run('mode', () => api.mode('paper'))}
                  data-testid="btn-paper"
                >
                  Paper trading
                </button>
                <button
                  type="button"
                  className="warn"
                  disabled={disabled || control.trading === 'observe'}
                  onClick={() => void run('mode', () => api.mode('observe'))}
                  data-testid="btn-observe"
                >
                  Observe only
                </button>
              </div>
            </div>
            <div className="speed">
              <span>
                Replay speed: <strong data-testid="speed-value">{fmtSpeed(control.speed)}</strong>
              </span>
              <div className="buttons">
                {PRESETS.map((p) => (
                  <button key={p.label} type="button" disabled={disabled} onClick={() => applySpeed(p.speed)}>
                    {p.label}
                  </button>
                ))}
                <form
                  className="inline"
                  onSubmit={(e) => {
                    e.preventDefault();
                    applySpeed(Number(speed));
                  }}
                >
                  <input
                    aria-label="speed in market seconds per second"
                    inputMode="decimal"
                    placeholder="market s / s"
                    value={speed}
                    onChange={(e) => setSpeed(e.target.value)}
                    disabled={disabled}
                  />
                  <button type="submit" disabled={disabled || speed.trim() === ''}>
                    Set
                  </button>
                </form>
              </div>
            </div>
            {failure ? <ErrorBox error={failure} /> : null}
          </>
        ) : (
          <Loaded resource={fetched} what="control state">
            {() => null}
          </Loaded>
        )}
      </Panel>
      <div className="grid-2">
        <Panel title="Health and latency">
          <Loaded resource={health} what="health">
            {(h) => (
              <>
                <div className="chips">
                  <Badge kind={h.status === 'ok' ? 'good' : h.status === 'idle' ? 'neutral' : 'bad'}>engine {h.status}</Badge>
                  <Badge kind={live.status === 'open' ? 'good' : 'warn'}>stream {live.status}</Badge>
                  {h.components.map((c) => (
                    <Badge key={c.name} kind={c.status === 'ok' ? 'good' : c.status === 'degraded' ? 'warn' : 'bad'}>
                      {c.name} {c.status}
                    </Badge>
                  ))}
                </div>
                {h.latency ? (
                  <div className="kpis kpis-small">
                    <Kpi label="Cycle p50" value={fmtMs(h.latency.p50_ms)} />
                    <Kpi label="Cycle p99" value={fmtMs(h.latency.p99_ms)} />
                    <Kpi label="Cycle max" value={fmtMs(h.latency.max_ms)} sub={`${h.latency.cycles} cycles`} />
                  </div>
                ) : (
                  <Empty title="No latency measured yet" />
                )}
                {h.live_score ? (
                  <div data-testid="live-score">
                    <div className="kpis kpis-small">
                      <Kpi
                        label="Uptime"
                        value={h.live_score.uptime == null ? 'n/a' : fmtPct(h.live_score.uptime)}
                        sub={`${h.live_score.up} of ${h.live_score.scheduled} bar closes up`}
                      />
                      <Kpi
                        label="Critical failures"
                        value={String(h.live_score.critical_failures.length)}
                        sub={`${h.live_score.missed_closes} closes missed, as of ${fmtStamp(h.live_score.as_of)}`}
                      />
                    </div>
                    {h.live_score.critical_failures.length ? (
                      <ul className="alerts" data-testid="critical-failures">
                        {h.live_score.critical_failures.map((f) => (
                          <li key={f}>{f}</li>
                        ))}
                      </ul>
                    ) : null}
                  </div>
                ) : null}
              </>
            )}
          </Loaded>
        </Panel>
        <Panel title="Audit log">
          <Loaded resource={audit} what="audit log">
            {(a) =>
              a.entries.length ? (
                <ul className="alerts" data-testid="audit">
                  {a.entries.slice(0, 30).map((e, i) => (
                    <li key={`${e.at}-${i}`}>
                      <Badge kind={e.outcome === 'accepted' ? 'good' : 'warn'}>{e.outcome}</Badge>
                      <span className="feed-time">{fmtStamp(e.at)}</span>
                      <span>
                        {e.action} by {e.client}: {e.detail}
                      </span>
                    </li>
                  ))}
                </ul>
              ) : (
                <Empty title="No control actions yet">
                  Every pause, stop, flatten, reset, mode or speed change is recorded here with who asked.
                </Empty>
              )
            }
          </Loaded>
        </Panel>
      </div>
      <Panel title="Configuration (secrets masked)">
        <Loaded resource={config} what="configuration">
          {(c) => (
            <details>
              <summary>
                Settings, API and vendor configuration · {c.masked.length} masked value{c.masked.length === 1 ? '' : 's'}
              </summary>
              <pre className="json">{JSON.stringify({ settings: c.settings, api: c.api, vendors: c.vendors }, null, 2)}</pre>
            </details>
          )}
        </Loaded>
      </Panel>
    </div>
  );
}
