// Ask for the API token when none is stored (or the stored one was refused), and check it before keeping it.
import { useState, type FormEvent } from 'react';

export interface TokenGateProps {
  reason: string | null;
  verify: (token: string) => Promise<string | null>;
  onToken: (token: string) => void;
}

export function TokenGate({ reason, verify, onToken }: TokenGateProps) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const token = value.trim();
    if (!token) return;
    setChecking(true);
    const problem = await verify(token);
    setChecking(false);
    if (problem) setError(problem);
    else onToken(token);
  };

  return (
    <main className="gate">
      <form className="panel gate-form" onSubmit={submit} data-testid="token-gate">
        <h1>papertrader</h1>
        <p>
          This dashboard needs the API token. It was printed once when the API first started, as part of the dashboard
          URL (<code>#token=…</code>), and is kept in <code>$PAPERTRADER_HOME/api-token</code>.
        </p>
        {reason ? <p className="note">{reason}</p> : null}
        <label htmlFor="token">API token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          value={value}
          onChange={(e) => {
            setValue(e.target.value);
            setError(null);
          }}
        />
        {error ? (
          <p className="state-error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={checking || !value.trim()}>
          {checking ? 'Checking…' : 'Open dashboard'}
        </button>
      </form>
    </main>
  );
}
