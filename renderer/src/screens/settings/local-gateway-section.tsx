import type { AppInfo } from '../../../../main/ipc/bridge-types.js';

const STATE_WORDS = { starting: 'Starting…', running: 'Running', failed: 'Not running', stopped: 'Stopped' } as const;

/** The desktop's own gateway: whether it runs, where psql connects, which config it reads. */
export function LocalGatewaySection({ info }: { readonly info: AppInfo }) {
  const { engine } = info;
  return (
    <section className="card settings-section" aria-labelledby="settings-local">
      <h2 id="settings-local">Local gateway</h2>
      <dl className="settings-facts">
        <dt>State</dt>
        <dd>
          <span className={`badge ${engine.state === 'running' ? 'badge-approve' : engine.state === 'failed' ? 'badge-deny' : 'badge-warn'}`}>{STATE_WORDS[engine.state]}</span>
          {engine.message && engine.state !== 'running' && <span className="settings-problem">{engine.message}</span>}
        </dd>
        {engine.postgres && (
          <>
            <dt>PostgreSQL</dt>
            <dd>
              <code>{engine.postgres}</code>{' '}
              <span className="muted">
                connect with <code>psql "postgres://ANY@{engine.postgres}/RESOURCE"</code> and a token as the password
              </span>
            </dd>
          </>
        )}
        {engine.http && engine.http.length > 0 && (
          <>
            <dt>HTTP</dt>
            <dd>
              {engine.http.map((origin) => (
                <code key={origin}>{origin} </code>
              ))}
            </dd>
          </>
        )}
        <dt>Config</dt>
        <dd>
          <code>{engine.configFile}</code> <span className="muted">(edit it, then restart the app)</span>
        </dd>
      </dl>
    </section>
  );
}
