// Small building blocks: KPI tiles, panels, meters, and the loading, empty and error states every page shares.
import type { ReactNode } from 'react';
import type { ApiError } from '../api/client';
import type { Resource } from '../state/resource';

export function Panel({ title, actions, children, testId }: { title: string; actions?: ReactNode; children: ReactNode; testId?: string }) {
  return (
    <section className="panel" data-testid={testId}>
      <header className="panel-head">
        <h2>{title}</h2>
        {actions ? <div className="panel-actions">{actions}</div> : null}
      </header>
      <div className="panel-body">{children}</div>
    </section>
  );
}

export function Kpi({
  label,
  value,
  sub,
  tone = 'flat',
  testId,
}: {
  label: string;
  value: string;
  sub?: string | undefined;
  tone?: 'up' | 'down' | 'flat' | 'warn';
  testId?: string;
}) {
  return (
    <div className={`kpi kpi-${tone}`} data-testid={testId}>
      <div className="kpi-label">{label}</div>
      <div className="kpi-value" data-testid={testId ? `${testId}-value` : undefined}>
        {value}
      </div>
      {sub ? <div className="kpi-sub">{sub}</div> : null}
    </div>
  );
}

export function Badge({ children, kind = 'neutral' }: { children: ReactNode; kind?: 'neutral' | 'good' | 'warn' | 'bad' | 'info' }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

/** A horizontal bar of value against a limit; turns amber past 80% and red past 100%. */
export function Meter({ label, value, limit, format }: { label: string; value: number; limit: number; format: (v: number) => string }) {
  const share = limit > 0 ? Math.abs(value) / limit : 0;
  const level = share >= 1 ? 'bad' : share >= 0.8 ? 'warn' : 'good';
  return (
    <div className="meter" role="meter" aria-label={label} aria-valuenow={Math.abs(value)} aria-valuemin={0} aria-valuemax={limit}>
      <div className="meter-top">
        <span>{label}</span>
        <span>
          {format(Math.abs(value))} <span className="muted">of {format(limit)}</span>
        </span>
      </div>
      <div className="meter-track">
        <div className={`meter-fill meter-${level}`} style={{ width: `${Math.min(100, share * 100)}%` }} />
      </div>
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div className="state state-loading" role="status">
      Loading {what}…
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty" data-testid="empty-state">
      <strong>{title}</strong>
      {children ? <p>{children}</p> : null}
    </div>
  );
}

export function ErrorBox({ error, onRetry }: { error: ApiError; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert" data-testid="error-state">
      <strong>{error.status === 0 ? 'The API cannot be reached' : `The API answered ${error.status}`}</strong>
      <p>{error.message}</p>
      {onRetry ? (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}

/**
 * Render a resource: loading the first time, a 404 as an empty state carrying the API's sentence, other errors
 * with a retry, else the content (kept on screen while a refresh is in flight).
 */
export function Loaded<T>({ resource, what, children }: { resource: Resource<T>; what: string; children: (data: T) => ReactNode }) {
  if (resource.data !== null) return <>{children(resource.data)}</>;
  if (resource.error?.notFound) return <Empty title={`No ${what} to show`}>{resource.error.message}</Empty>;
  if (resource.error) return <ErrorBox error={resource.error} onRetry={resource.reload} />;
  return <Loading what={what} />;
}
