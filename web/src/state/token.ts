// The API token: arrives once as #token=... in the URL the CLI prints, then lives in this browser's storage.
const KEY = 'papertrader.api-token';

export function loadToken(storage: Storage = window.localStorage): string | null {
  try {
    return storage.getItem(KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string, storage: Storage = window.localStorage): void {
  try {
    storage.setItem(KEY, token.trim());
  } catch {
    // private mode: the token lasts for this page only
  }
}

export function clearToken(storage: Storage = window.localStorage): void {
  try {
    storage.removeItem(KEY);
  } catch {
    // nothing stored
  }
}

/** Take #token=... out of the address bar (so it is not bookmarked or shared) and return it. */
export function takeTokenFromHash(location: Location = window.location, history: History = window.history): string | null {
  const hash = location.hash.replace(/^#/, '');
  const params = new URLSearchParams(hash.includes('token=') ? hash.slice(hash.indexOf('token=')) : '');
  const token = params.get('token');
  if (!token) return null;
  history.replaceState(null, '', `${location.pathname}${location.search}#/overview`);
  return token;
}
