// The shell: token gate, session and live stream, navigation between the seven pages, and the run picker.
import { useCallback, useEffect, useMemo, useRef, useState, type ComponentType } from 'react';
import { ApiError, endpoints, makeClient, type ClientOptions } from './api/client';
import { openStream, type StreamOptions } from './api/stream';
import { TokenGate } from './components/TokenGate';
import { Badge } from './components/ui';
import { Controls } from './pages/Controls';
import { Decisions } from './pages/Decisions';
import { Overview } from './pages/Overview';
import { Performance } from './pages/Performance';
import { Risk } from './pages/Risk';
import { Signals } from './pages/Signals';
import { Trades } from './pages/Trades';
import { LiveProvider, useLive } from './state/live';
import { useResource } from './state/resource';
import { SessionContext, useSession, type Session } from './state/session';
import { clearToken, loadToken, saveToken, takeTokenFromHash } from './state/token';

export const PAGES: { id: string; title: string; component: ComponentType }[] = [
  { id: 'overview', title: 'Portfolio', component: Overview },
  { id: 'performance', title: 'Performance', component: Performance },
  { id: 'signals', title: 'AI Signals', component: Signals },
  { id: 'decisions', title: 'Decisions', component: Decisions },
  { id: 'risk', title: 'Risk Monitor', component: Risk },
  { id: 'trades', title: 'Trade Log', component: Trades },
  { id: 'controls', title: 'System Controls', component: Controls },
];

function currentPage(): string {
  const id = window.location.hash.replace(/^#\/?/, '').split(/[?&]/)[0] ?? '';
  return PAGES.some((p) => p.id === id) ? id : 'overview';
}

function useHashPage(): string {
  const [page, setPage] = useState(currentPage);
  useEffect(() => {
    const onChange = () => setPage(currentPage());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return page;
}

const STATUS_TEXT = { connecting: 'connecting', open: 'live', reconnecting: 'reconnecting', closed: 'offline' } as const;

function RunPicker() {
  const { api, run, setRun } = useSession();
  const live = useLive();
  const runs = useResource(() => api.runs(), [live.syncKey]);
  const list = runs.data?.runs ?? [];
  return (
    <label className="run-picker">
      <span className="sr-only">Run</span>
      <select value={run ?? ''} onChange={(e) => setRun(e.target.value || null)} aria-label="run" data-testid="run-picker">
        <option value="">{runs.data?.live_run_id ? 'live run' : 'latest run'}</option>
        {list.map((r) => (
          <option key={r.id} value={r.id}>
            {r.id} · {r.status}
            {r.live ? ' (live)' : ''}
          </option>
        ))}
      </select>
    </label>
  );
}

function Shell() {
  const page = useHashPage();
  const live = useLive();
  const { signOut } = useSession();
  const Page = PAGES.find((p) => p.id === page)?.component ?? Overview;
  return (
    <div className="app">
      <header className="top">
        <a className="brand" href="#/overview">
          papertrader
        </a>
        <Badge kind={live.status === 'open' ? 'good' : live.status === 'closed' ? 'bad' : 'warn'}>
          <span data-testid="stream-status" title="WebSocket stream">
            {live.status === 'open' && !(live.cycle || live.snapshot?.health.live) ? 'connected (no live run)' : STATUS_TEXT[live.status]}
          </span>
        </Badge>
        {live.control?.paused ? <Badge kind="warn">paused</Badge> : null}
        <div className="spacer" />
        <RunPicker />
        <button type="button" className="link" onClick={() => signOut()}>
          Forget token
        </button>
      </header>
      <nav className="nav" aria-label="pages">
        {PAGES.map((p) => (
          <a key={p.id} href={`#/${p.id}`} className={p.id === page ? 'active' : ''} aria-current={p.id === page ? 'page' : undefined}>
            {p.title}
          </a>
        ))}
      </nav>
      <main className="main">
        <h1 className="page-title">{PAGES.find((p) => p.id === page)?.title}</h1>
        <Page />
      </main>
    </div>
  );
}

export interface AppProps {
  client?: ClientOptions;
  connect?: (options: StreamOptions) => () => void;
}

export function App({ client, connect = openStream }: AppProps) {
  const [token, setToken] = useState<string | null>(() => {
    const fromHash = takeTokenFromHash();
    if (fromHash) saveToken(fromHash);
    return fromHash ?? loadToken();
  });
  const [reason, setReason] = useState<string | null>(null);
  const [run, setRun] = useState<string | null>(null);
  const tokenRef = useRef(token);
  tokenRef.current = token;

  const api = useMemo(() => endpoints(makeClient(() => tokenRef.current, client)), [client]);

  // a #token= pasted into an open tab (same document, so only the hash changes) signs in too
  useEffect(() => {
    const onHash = () => {
      const fromHash = takeTokenFromHash();
      if (fromHash) {
        saveToken(fromHash);
        setReason(null);
        setToken(fromHash);
      }
    };
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const signOut = useCallback((why?: string) => {
    clearToken();
    setReason(why ?? null);
    setToken(null);
  }, []);

  const verify = useCallback(
    async (candidate: string): Promise<string | null> => {
      const probe = endpoints(makeClient(() => candidate, client));
      try {
        await probe.control();
        return null;
      } catch (exc) {
        if (exc instanceof ApiError && exc.unauthorized) return 'That token was refused. Copy it again from the api-token file.';
        return exc instanceof Error ? exc.message : String(exc);
      }
    },
    [client],
  );

  const session: Session | null = useMemo(
    () => (token ? { api, token, signOut, run, setRun } : null),
    [api, token, signOut, run],
  );

  if (!session) {
    return (
      <TokenGate
        reason={reason}
        verify={verify}
        onToken={(t) => {
          saveToken(t);
          setReason(null);
          setToken(t);
        }}
      />
    );
  }
  return (
    <SessionContext.Provider value={session}>
      <LiveProvider token={session.token} connect={connect}>
        <Shell />
      </LiveProvider>
    </SessionContext.Provider>
  );
}
