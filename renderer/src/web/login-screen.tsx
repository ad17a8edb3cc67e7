import { useState, type FormEvent } from 'react';
import type { WhoAmI } from '../../../proxy/api/api-contract.js';
import { ErrorBanner } from '../ui/error-banner.js';
import { HttpEngineClient } from './http-engine-client.js';

export interface LoginScreenProps {
  readonly onSignedIn: (token: string, whoami: WhoAmI) => void;
  /** Why the previous session ended, if it did. */
  readonly notice?: string;
}

/** Asks for an approver (or auditor, admin) token and checks it with `identity.whoami` before keeping it. */
export function LoginScreen({ onSignedIn, notice }: LoginScreenProps) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (!value) return setError('Paste your token first.');
    setBusy(true);
    setError(undefined);
    const client = new HttpEngineClient({ token: value });
    const result = await client.call('identity.whoami', {});
    client.close();
    setBusy(false);
    if (!result.ok) return setError(result.error.code === 'unauthenticated' ? 'The gateway does not accept this token (unknown, expired or revoked).' : result.error.message);
    onSignedIn(value, result.value);
  };

  return (
    <main className="login">
      <form className="login-card" onSubmit={(event) => void submit(event)} aria-labelledby="login-title">
        <h1 id="login-title">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{' '}
          Sluice console
        </h1>
        <p className="muted">Sign in with your Sluice token (approver, auditor or admin). It stays in this tab only and is forgotten when the tab closes.</p>
        {notice && <p className="notice">{notice}</p>}
        <label htmlFor="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          autoFocus
          value={token}
          onChange={(event) => setToken(event.target.value)}
        />
        {error && <ErrorBanner error={error} />}
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
