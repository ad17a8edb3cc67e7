import { useCallback, useEffect, useState, type FormEvent } from 'react';
import type { GatewayView, SecretStorageInfo } from '../../../../main/ipc/bridge-types.js';
import type { ApiError } from '../../../../proxy/api/api-contract.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import type { SettingsClient } from './settings-client.js';

// Remote gateways (`sluice serve` elsewhere): their approvals join the inbox. Adding one checks
// the URL, the certificate (or the pinned fingerprint) and that the token is an approver's.

const STATE_WORDS: Readonly<Record<GatewayView['state'], string>> = { live: 'Connected', connecting: 'Connecting…', offline: 'Not connected' };

const EMPTY = { label: '', url: '', token: '', fingerprint: '' };

export function GatewaysSection({ client, secretStorage }: { readonly client: SettingsClient; readonly secretStorage: SecretStorageInfo | undefined }) {
  const [gateways, setGateways] = useState<readonly GatewayView[] | undefined>();
  const [form, setForm] = useState(EMPTY);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | undefined>();

  const refresh = useCallback(async () => {
    const result = await client.desktop('gateways.list', {});
    if (result.ok) setGateways(result.value);
    else setError(result.error);
  }, [client]);

  useEffect(() => {
    void refresh();
    const timer = setInterval(() => void refresh(), 5_000);
    return () => clearInterval(timer);
  }, [refresh]);

  const add = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    const fingerprint = form.fingerprint.trim();
    const result = await client.desktop('gateways.add', { label: form.label, url: form.url, token: form.token, ...(fingerprint && { fingerprint }) });
    setBusy(false);
    if (!result.ok) return setError(result.error);
    setForm(EMPTY);
    await refresh();
  };

  const remove = async (gateway: GatewayView) => {
    const result = await client.desktop('gateways.remove', { id: gateway.id });
    if (!result.ok) setError(result.error);
    await refresh();
  };

  const field = (key: keyof typeof EMPTY) => ({ value: form[key], onChange: (event: { target: { value: string } }) => setForm({ ...form, [key]: event.target.value }) });

  return (
    <section className="card settings-section" aria-labelledby="settings-gateways">
      <h2 id="settings-gateways">Remote gateways</h2>
      <p className="muted">Approvals held by these gateways appear in your inbox beside this computer's, each marked with where it comes from.</p>
      {secretStorage?.warning && (
        <div className="settings-warning" role="alert">
          <strong>Tokens are stored in plain text.</strong> {secretStorage.warning}
        </div>
      )}

      {gateways && gateways.length === 0 && <p className="muted">No remote gateways yet.</p>}
      {gateways && gateways.length > 0 && (
        <ul className="settings-gateways" aria-label="Remote gateways">
          {gateways.map((gateway) => (
            <li key={gateway.id} className="settings-gateway">
              <div>
                <strong>{gateway.label}</strong> <span className={`badge ${gateway.state === 'live' ? 'badge-approve' : gateway.state === 'connecting' ? 'badge-warn' : 'badge-deny'}`}>{STATE_WORDS[gateway.state]}</span>
                <div className="muted">
                  <code>{gateway.url}</code>
                  {gateway.fingerprint && (
                    <>
                      {' '}
                      · pinned certificate <code title={gateway.fingerprint}>{gateway.fingerprint.slice(0, 23)}…</code>
                    </>
                  )}
                  {' '}· token {gateway.tokenStorage === 'encrypted' ? 'encrypted by the system keyring' : <strong className="settings-plain">stored in plain text</strong>}
                </div>
                {gateway.problem && <div className="settings-problem">{gateway.problem}</div>}
              </div>
              <button type="button" className="button button-quiet" onClick={() => void remove(gateway)} aria-label={`Remove ${gateway.label}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}

      <form className="settings-add" onSubmit={(event) => void add(event)} aria-label="Add a remote gateway">
        <h3>Add a gateway</h3>
        <label htmlFor="gateway-label">Name</label>
        <input id="gateway-label" required maxLength={80} placeholder="prod-eu" {...field('label')} />
        <label htmlFor="gateway-url">URL</label>
        <input id="gateway-url" required type="url" placeholder="https://gateway.example:7070" spellCheck={false} {...field('url')} />
        <label htmlFor="gateway-token">Approver token</label>
        <input id="gateway-token" required type="password" autoComplete="off" spellCheck={false} {...field('token')} />
        {secretStorage?.warning && <p className="settings-plain">This token will be stored in plain text (no system keyring).</p>}
        <label htmlFor="gateway-fingerprint">
          Certificate fingerprint <span className="muted">(optional: for a self-signed certificate, the SHA-256 fingerprint <code>sluice serve</code> prints)</span>
        </label>
        <input id="gateway-fingerprint" spellCheck={false} placeholder="AB:CD:…" {...field('fingerprint')} />
        {error && <ErrorBanner error={error} action="Gateway" />}
        <button type="submit" className="button button-primary" disabled={busy}>
          {busy ? 'Checking the gateway…' : 'Add gateway'}
        </button>
      </form>
    </section>
  );
}
