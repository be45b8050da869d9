// Who is signed in (the token), the typed API bound to it, and which run the pages show.
import { createContext, useContext } from 'react';
import type { Api } from '../api/client';

export interface Session {
  api: Api;
  token: string;
  /** Forget the token (it was rejected, or the user asked), back to the token form. */
  signOut: (reason?: string) => void;
  /** null: the live run, else the newest stored run. */
  run: string | null;
  setRun: (run: string | null) => void;
}

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside SessionContext');
  return session;
}
