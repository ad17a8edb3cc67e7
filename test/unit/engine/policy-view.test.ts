import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../proxy/config/load-config.js';
import { commandLine, HIDDEN, policyView, scrubSecrets } from '../../../proxy/engine/policy-view.js';

// `policy.view` is what every auditor's browser receives: no credential may ever be in it, however
// the operator wrote the config. Each secret below is a unique canary searched for in the JSON.

const canary = (label: string) => `canary-${label}-${randomBytes(8).toString('hex')}`;

function configWithCanaries() {
  const secrets = {
    PG_PASSWORD: canary('pg'),
    API_TOKEN: canary('api'),
    BASIC_PASSWORD: canary('basic'),
    QUERY_KEY: canary('query'),
    EXEC_SECRET: canary('exec'),
    AUDIT_PASSWORD: canary('audit'),
  };
  const literal = { urlPassword: canary('url'), optionValue: canary('option'), assignment: canary('assign') };
  const env = { ...secrets, AUDIT_URL: `postgres://audit:${secrets.AUDIT_PASSWORD}@audit.internal:5432/audit` };
  const yaml = [
    'resources:',
    '  - { name: prod-db, type: postgres, upstream: "postgres://app@db.internal:5432/app", password: "${env:PG_PASSWORD}", sslmode: verify-full }',
    '  - { name: trust-db, type: postgres, upstream: "postgres://reader@db.internal/app" }',
    '  - { name: billing, type: http, upstream: "https://billing.internal/v1?tenant=acme", inject: { header: Authorization, value: "Bearer ${env:API_TOKEN}" } }',
    '  - { name: legacy, type: http, upstream: "http://127.0.0.1:9000/", inject: { basic: { username: svc, password: "${env:BASIC_PASSWORD}" } } }',
    '  - { name: search, type: http, upstream: "https://search.internal", inject: { query: api_key, value: "${env:QUERY_KEY}" } }',
    '  - name: dump',
    '    type: exec',
    `    command: [pg_dump, "postgres://app:${literal.urlPassword}@db.internal/app", --password, "${literal.optionValue}", "PGPASSWORD=${literal.assignment}", -p, "5432"]`,
    '    env: { PGPASSWORD: "${env:EXEC_SECRET}", API_TOKEN: "${env:API_TOKEN}" }',
    'policy:',
    '  - { name: ci-read, match: { groups: [ci], resources: [prod-db], kinds: [select] }, effect: allow }',
    '  - { name: ci-writes, match: { groups: [ci], claims: { environment: production }, resources: [prod-db], kinds: [delete, update] }, effect: approve, session_grant: 1h }',
    // An operator pasting a password into free text: the backstop must still catch it.
    `  - { name: no-ddl, match: { kinds: [ddl] }, effect: deny, reason: "DDL goes through migrations (ask for ${secrets.PG_PASSWORD})" }`,
    'masking:',
    '  - { name: emails, detect: email, strategy: partial }',
    '  - { name: ssn, columns: [public.users.ssn], strategy: redact, except_groups: [dba] }',
    'approvals: { timeout: 15m, quorum: 2 }',
    'audit: { store: "${env:AUDIT_URL}" }',
    '',
  ].join('\n');
  const { config } = parseConfig(yaml, { file: '/etc/sluice/sluice.yaml', env });
  return { config, canaries: [...Object.values(secrets), ...Object.values(literal), env.AUDIT_URL] };
}

describe('policy view', () => {
  it('never carries a credential: resource passwords, injected headers, exec env, audit.store, or one pasted into a command or a reason', () => {
    const { config, canaries } = configWithCanaries();
    const json = JSON.stringify(policyView(config));
    for (const value of canaries) expect(json).not.toContain(value);
    // Not even a part of one: no "canary-" prefix anywhere.
    expect(json).not.toContain('canary-');
  });

  it('shows each upstream without credentials, and how Sluice authenticates there by where the secret comes from', () => {
    const { config } = configWithCanaries();
    const resources = Object.fromEntries(policyView(config).resources.map((resource) => [resource.name, resource]));
    expect(resources['prod-db']).toEqual({
      name: 'prod-db',
      type: 'postgres',
      upstream: 'postgres://app@db.internal:5432/app',
      credential: 'password from env:PG_PASSWORD (held by Sluice)',
      tls: 'verify-full (certificate and host checked)',
    });
    expect(resources['trust-db']?.credential).toBe('none (trust or client certificate upstream)');
    expect(resources['trust-db']?.tls).toBe('disable (plain TCP)');
    expect(resources.billing).toMatchObject({ upstream: 'https://billing.internal/v1?…', credential: 'header Authorization from env:API_TOKEN (held by Sluice)', tls: 'https' });
    expect(resources.legacy).toMatchObject({ credential: 'basic auth as svc, password from env:BASIC_PASSWORD (held by Sluice)', tls: 'none (plain http)' });
    expect(resources.search?.credential).toBe('query parameter api_key from env:QUERY_KEY (held by Sluice)');
    expect(resources.dump?.credential).toBe('environment PGPASSWORD, API_TOKEN (held by Sluice)');
    expect(resources.dump?.upstream).toBe(`pg_dump postgres://app:${HIDDEN}@db.internal/app --password ${HIDDEN} PGPASSWORD=${HIDDEN} -p 5432`);
  });

  it('lists the rules in file order with who, what, effect, reason and session grant, and the settings', () => {
    const { config } = configWithCanaries();
    const view = policyView(config);
    expect(view.rules.map((rule) => rule.name)).toEqual(['ci-read', 'ci-writes', 'no-ddl']);
    expect(view.rules[1]).toEqual({
      name: 'ci-writes',
      match: { groups: ['ci'], claims: { environment: 'production' }, resources: ['prod-db'], kinds: ['delete', 'update'] },
      effect: 'approve',
      session_grant_ms: 3_600_000,
    });
    expect(view.rules[2]?.reason).toBe(`DDL goes through migrations (ask for ${HIDDEN})`);
    expect(view.defaultEffect).toBe('deny');
    expect(view.approvals).toEqual({ timeoutMs: 900_000, quorum: 2, selfApproval: false });
    expect(view.masking).toEqual([
      { name: 'emails', kind: 'detect', targets: ['email'], strategy: 'partial' },
      { name: 'ssn', kind: 'columns', targets: ['public.users.ssn'], strategy: 'redact', exceptGroups: ['dba'] },
    ]);
  });

  it('hides credential-looking arguments of a command and leaves the rest readable', () => {
    expect(commandLine(['psql', '-h', 'db', '-p', '5432', '-c', 'select 1'])).toBe('psql -h db -p 5432 -c "select 1"');
    expect(commandLine(['sh', '-c', 'PGPASSWORD=hunter22 psql "postgres://u:pw@h/db"'])).toBe(`sh -c ${JSON.stringify(`PGPASSWORD=${HIDDEN} psql "postgres://u:${HIDDEN}@h/db"`)}`);
    expect(commandLine(['curl', '-H', 'Authorization: Bearer abc.def', 'https://x/?api_key=k1&page=2'])).toBe(`curl -H "Authorization: Bearer ${HIDDEN}" https://x/?api_key=${HIDDEN}&page=2`);
    expect(commandLine(['tool', '--token', 't0k3n', '--verbose'])).toBe(`tool --token ${HIDDEN} --verbose`);
  });

  it('scrubs a secret value, and any long word of it, wherever it shows up, keys included', () => {
    const scrubbed = scrubSecrets({ a: 'x Bearer s3cr3t-value y', list: ['s3cr3t-value'], ['key-s3cr3t-value']: 1 }, ['Bearer s3cr3t-value', 's3cr3t-value']);
    expect(JSON.stringify(scrubbed)).not.toContain('s3cr3t');
    expect(scrubbed.a).toBe(`x ${HIDDEN} y`);
  });
});
