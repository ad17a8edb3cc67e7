import type { PolicyView, ResourceView } from '../../../../proxy/api/api-contract.js';
import { configDuration, configSize, isRecord } from './policy-words.js';

// The parts of the config around the rules: resources (never a credential: the view has none),
// roles, approval settings, limits and masking rules by name.

export function ResourcesTable({ resources }: { readonly resources: readonly ResourceView[] }) {
  return (
    <section className="policy-section" aria-labelledby="policy-resources-heading">
      <h2 id="policy-resources-heading">
        Resources <span className="muted count">{resources.length}</span>
      </h2>
      {resources.length === 0 ? (
        <p className="muted">No resources are configured: callers have nothing to connect to. Add them under <code>resources:</code> in <code>sluice.yaml</code>.</p>
      ) : (
        <div className="table-scroll">
          <table className="data resources-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Upstream</th>
                <th scope="col">Sluice signs in upstream with</th>
                <th scope="col">TLS upstream</th>
              </tr>
            </thead>
            <tbody>
              {resources.map((resource) => (
                <tr key={resource.name} data-testid="resource">
                  <th scope="row" className="resource-name">{resource.name}</th>
                  <td>
                    <span className="badge">{resource.type}</span>
                  </td>
                  <td>
                    <code className="upstream">{resource.upstream}</code>
                  </td>
                  <td>{resource.credential}</td>
                  <td className={tlsTone(resource.tls)}>{resource.tls ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** Plain text upstream is worth a second look; it is shown in the warning colour, with its words. */
function tlsTone(tls: string | undefined): string {
  return tls !== undefined && /^(disable|none)/.test(tls) ? 'tls-plain' : '';
}

export function PolicySettings({ view }: { readonly view: PolicyView }) {
  return (
    <section className="policy-section" aria-labelledby="policy-settings-heading">
      <h2 id="policy-settings-heading">Roles, approvals, limits and masking</h2>
      <div className="settings-grid">
        <div className="card settings-card">
          <h3>Roles</h3>
          <p className="muted small">Which token groups may use which part of this console.</p>
          <dl className="settings-list">
            {Object.entries(view.roles).map(([role, groups]) => (
              <div key={role}>
                <dt>{role}</dt>
                <dd>{groups.length > 0 ? groups.map((group) => <code key={group} className="chip">{group}</code>) : <span className="muted">nobody</span>}</dd>
              </div>
            ))}
          </dl>
        </div>
        <div className="card settings-card">
          <h3>Approvals</h3>
          <dl className="settings-list">
            <div>
              <dt>Expire after</dt>
              <dd>{configDuration(view.approvals.timeoutMs)} (then the statement is refused)</dd>
            </div>
            <div>
              <dt>Quorum</dt>
              <dd>
                {view.approvals.quorum} approver{view.approvals.quorum === 1 ? '' : 's'}
              </dd>
            </div>
            <div>
              <dt>Self-approval</dt>
              <dd>{view.approvals.selfApproval ? <strong className="warn-text">allowed: a caller may approve their own statement</strong> : 'not allowed'}</dd>
            </div>
          </dl>
        </div>
        <LimitsCard limits={view.limits} />
        <div className="card settings-card">
          <h3>Masking rules</h3>
          {view.masking.length === 0 ? (
            <p className="muted">None: results reach callers unmasked.</p>
          ) : (
            <ul className="masking-list">
              {view.masking.map((rule) => (
                <li key={rule.name}>
                  <strong>{rule.name}</strong> <span className="badge badge-mask">{rule.strategy}</span>{' '}
                  <span className="muted">{rule.kind === 'columns' ? 'columns' : 'finds'}</span>{' '}
                  {rule.targets.map((target) => (
                    <code key={target} className="chip">
                      {target}
                    </code>
                  ))}
                  {rule.groups && <span className="muted"> · only for {rule.groups.join(', ')}</span>}
                  {rule.exceptGroups && <span className="muted"> · not for {rule.exceptGroups.join(', ')}</span>}
                </li>
              ))}
            </ul>
          )}
        </div>
      </div>
    </section>
  );
}

const LIMIT_WORDS: readonly (readonly [string, string, (value: number) => string])[] = [
  ['rows_per_statement', 'Rows per statement', (n) => n.toLocaleString()],
  ['bytes_per_statement', 'Bytes per statement', configSize],
  ['bytes_per_session', 'Bytes per session', configSize],
  ['statements_per_minute', 'Statements per minute', (n) => n.toLocaleString()],
];

function LimitsCard({ limits }: { readonly limits: Readonly<Record<string, unknown>> }) {
  const values = limitValues(limits);
  const rules = Array.isArray(limits.rules) ? limits.rules.filter(isRecord) : [];
  const tables = Array.isArray(limits.full_scan_tables) ? limits.full_scan_tables.map(String) : [];
  return (
    <div className="card settings-card">
      <h3>Limits</h3>
      {values.length === 0 && rules.length === 0 && tables.length === 0 ? (
        <p className="muted">None configured.</p>
      ) : (
        <dl className="settings-list">
          {values.map(([label, text]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{text}</dd>
            </div>
          ))}
          {tables.length > 0 && (
            <div>
              <dt>Full-scan tables</dt>
              <dd>
                {tables.map((table) => (
                  <code key={table} className="chip">
                    {table}
                  </code>
                ))}
              </dd>
            </div>
          )}
          {rules.map((rule) => {
            const scoped = limitValues(rule);
            const groups = Array.isArray(rule.groups) ? rule.groups.map(String) : undefined;
            const except = Array.isArray(rule.except_groups) ? rule.except_groups.map(String) : undefined;
            return (
              <div key={String(rule.name)}>
                <dt>{String(rule.name)}</dt>
                <dd>
                  {scoped.map(([label, text]) => `${label.toLowerCase()} ${text}`).join(', ') || 'no limit values'}
                  {groups && <span className="muted"> · for {groups.join(', ')}</span>}
                  {except && <span className="muted"> · not for {except.join(', ')}</span>}
                </dd>
              </div>
            );
          })}
        </dl>
      )}
    </div>
  );
}

/** The limit values set in `source`, in words; past a limit, what happens. */
function limitValues(source: Readonly<Record<string, unknown>>): [string, string][] {
  const values: [string, string][] = [];
  for (const [key, label, format] of LIMIT_WORDS) {
    const value = source[key];
    if (typeof value === 'number') values.push([label, format(value)]);
  }
  if (source.on_exceed === 'deny' || source.on_exceed === 'approve') values.push(['Past a limit', source.on_exceed === 'deny' ? 'the result is stopped with an error' : 'the result is held for approval']);
  return values;
}
