// Load one API resource, keep the last good data while reloading, and sign out when the token is refused.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { useSession } from './session';

export interface Resource<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

export function useResource<T>(load: () => Promise<T>, deps: readonly unknown[]): Resource<T> {
  const { signOut } = useSession();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [nonce, setNonce] = useState(0);
  const latest = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  // deps are the caller's: the loader closes over them, and `nonce` forces a reload
  useEffect(() => {
    const id = ++latest.current;
    setLoading(true);
    loader
      .current()
      .then((value) => {
        if (id !== latest.current) return;
        setData(value);
        setError(null);
      })
      .catch((exc: unknown) => {
        if (id !== latest.current) return;
        const err = exc instanceof ApiError ? exc : new ApiError(0, String(exc));
        if (err.unauthorized) signOut('The API refused the token. Enter the current one.');
        setError(err);
        if (err.notFound) setData(null);
      })
      .finally(() => {
        if (id === latest.current) setLoading(false);
      });
  }, [...deps, nonce]);

  const reload = useCallback(() => setNonce((n) => n + 1), []);
  return { data, error, loading, reload };
}
