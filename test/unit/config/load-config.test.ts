import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseConfig, type ConfigIssue } from '../../../proxy/config/load-config.js';
import { isSecret } from '../../../proxy/config/secret.js';

const EXAMPLE = resolve(import.meta.dirname, '../../../docs/sluice.example.yaml');
const EXAMPLE_ENV = { PROD_DB_PASSWORD: 'pg-pass-example', BILLING_TOKEN: 'billing-example' };

function issuesOf(yaml: string, env: NodeJS.ProcessEnv = {}): ConfigIssue[] {
  try {
    parseConfig(yaml, { file: '/etc/sluice/sluice.yaml', env });
  } catch (error) {
    if (error instanceof ConfigError) return [...error.issues];
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('loading sluice.yaml', () => {
  it('accepts the documented example and fills defaults', async () => {
    const { config, warnings } = await loadConfig(EXAMPLE, { env: EXAMPLE_ENV });
    expect(config.resources.map((r) => `${r.name}:${r.type}`)).toEqual(['prod-db:postgres', 'billing-api:http', 'migrate:exec']);
    expect(config.listen.postgres).toEqual({ address: { host: '127.0.0.1', port: 6432 }, tls: 'auto' });
    expect(config.approvals.timeout).toBe(600_000);
    expect(config.audit.retention).toBe(90 * 86_400_000);
    expect(config.limits.bytes_per_session).toBe(50_000_000);
    expect(config.data_dir).toBe(resolve(EXAMPLE, '..', '.sluice'));
    expect(config.identity.oidc[0]!.clock_skew).toBe(60_000);
    expect(warnings).toEqual([]);
  });

  it('resolves ${env:…} and ${file:…} into secrets, relative to the config file', async () => {
    const { config } = await loadConfig(EXAMPLE, { env: EXAMPLE_ENV });
    const [db, api, exec] = config.resources;
    expect(db?.type === 'postgres' && isSecret(db.password) && db.password.reveal()).toBe('pg-pass-example');
    expect(api?.type === 'http' && api.inject?.value?.reveal()).toBe('Bearer billing-example');
    // The example secret file ends with a newline; it is not part of the secret.
    expect(exec?.type === 'exec' && exec.env.DATABASE_URL?.reveal()).toBe('postgres://migrator:example@db.internal/app');
  });

  it('an empty file is a valid config with every default', () => {
    const { config } = parseConfig('', { file: '/srv/sluice.yaml' });
    expect(config.resources).toEqual([]);
    expect(config.roles.approvers).toEqual(['approvers']);
    expect(config.data_dir).toBe('/srv/.sluice');
  });

  it('reports every problem at once with key path, reason and line', () => {
    const issues = issuesOf(
      [
        'listen:',
        '  postgres: 127.0.0.1:99999', // 2
        'polcy: []', // 3
        'resources:',
        '  - name: db',
        '    type: postgres',
        '    upstream: mysql://db/app', // 7
        '  - name: api',
        '    type: http',
        '    upstream: https://api.internal',
        '    inject: { header: Authorization }', // 11
        '  - name: db', // 12
        '    type: exec',
        '    command: []', // 14
        'policy:',
        '  - name: r',
        '    match: { resources: [dbb], kinds: [selct] }', // 17
        '    effect: allow',
        'approvals: { timeout: 10 minutes }', // 19
      ].join('\n'),
    );
    const lines = issues.map((i) => `${i.line}: ${i.path}: ${i.message}`);
    expect(lines).toEqual([
      expect.stringMatching(/^2: listen\.postgres.*not host:port/),
      '3: polcy: unknown key (did you mean "policy"?)',
      '7: resources[0].upstream: not a postgres:// URL (postgres://USER@HOST:PORT/DATABASE)',
      '11: resources[1].inject.value: required with `header` or `query`',
      '12: resources[2].name: resource "db" is defined twice; names must be unique',
      '14: resources[2].command: must name the program to run',
      expect.stringMatching(/^17: policy\[0\]\.match\.kinds\[0\]: unknown kind "selct"; known kinds: select, /),
      '17: policy[0].match.resources[0]: no resource named "dbb" (resources: db, api)',
      '19: approvals.timeout: "10 minutes" is not a duration; use a number with ms, s, m, h or d',
    ]);
  });

  it('suggests the key a typo meant, inside unions and lists too', () => {
    const issues = issuesOf(
      [
        'listen: { postgress: "127.0.0.1:1", api: { adress: "127.0.0.1:2" } }',
        'resources: [ { name: db, type: postgres, upstream: "postgres://a@b/c", sslmod: require } ]',
        'masking: [ { name: m, detect: email, strategy: redact, zzzzzz: 1 } ]',
      ].join('\n'),
    );
    expect(issues.map((i) => `${i.line}: ${i.path}: ${i.message}`)).toEqual([
      '1: listen.api.address: required',
      '1: listen.api.adress: unknown key (did you mean "address"?)',
      '1: listen.postgress: unknown key (did you mean "postgres"?)',
      '2: resources[0].sslmod: unknown key (did you mean "sslmode"?)',
      '3: masking[0].zzzzzz: unknown key (known here: name, detect, pattern, columns, json_paths, strategy, replacement, keep_last, groups, except_groups, derived)',
    ]);
  });

  it('says which key is missing and names the allowed resource types', () => {
    const issues = issuesOf('resources:\n  - name: x\n    upstream: postgres://a@b/c\n  - type: postgres\n    upstream: postgres://a@b/c\n');
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'resources[0].type: needs `type`: postgres, http or exec',
      'resources[1].name: required',
    ]);
  });

  it('refuses a password inside an upstream URL without echoing it', () => {
    const issues = issuesOf('resources:\n  - { name: db, type: postgres, upstream: "postgres://app:hunter2@db/app" }\n');
    expect(issues).toEqual([
      { path: 'resources[0].upstream', line: 2, message: 'holds a password; move it to `password:` as ${env:NAME} or ${file:PATH}' },
    ]);
    expect(JSON.stringify(issues)).not.toContain('hunter2');
  });

  it('reports every missing secret at start, naming the variable and the key', () => {
    const issues = issuesOf(
      [
        'resources:',
        '  - { name: db, type: postgres, upstream: "postgres://app@db/app", password: "${env:DB_PASSWORD}" }',
        '  - { name: api, type: http, upstream: "https://x", inject: { header: X-Key, value: "${file:/nonexistent/key}" } }',
      ].join('\n'),
    );
    expect(issues.map((i) => `${i.line}: ${i.path}: ${i.message}`)).toEqual([
      '2: resources[0].password: environment variable DB_PASSWORD is not set (referenced as ${env:DB_PASSWORD})',
      '3: resources[1].inject.value: secret file /nonexistent/key cannot be read (ENOENT)',
    ]);
  });

  it('checks reference syntax without reading secrets when asked (check-config --skip-secrets)', () => {
    const yaml = 'resources:\n  - { name: db, type: postgres, upstream: "postgres://app@db/app", password: "${env:DB_PASSWORD}" }\n';
    const { config } = parseConfig(yaml, { file: '/x/sluice.yaml', env: {}, resolveSecrets: false });
    expect(config.resources).toHaveLength(1);
  });

  it('refuses secret references outside secret fields', () => {
    const issues = issuesOf('data_dir: "${env:HOME}"\n', { HOME: '/root' });
    expect(issues).toEqual([
      { path: 'data_dir', line: 1, message: 'secret references (${env:…} / ${file:…}) are only allowed in secret fields' },
    ]);
  });

  it('warns about secrets written inline, and keeps `$${` literal', () => {
    const { config, warnings } = parseConfig(
      'resources:\n  - { name: api, type: http, upstream: "https://x", inject: { header: X-Key, value: "pa$${env:NOT_A_REF}" } }\n',
      { file: '/x/sluice.yaml', env: {} },
    );
    const api = config.resources[0];
    expect(api?.type === 'http' && api.inject?.value?.reveal()).toBe("pa${env:NOT_A_REF}");
    expect(warnings.map((w) => `${w.line}: ${w.path}`)).toEqual(['2: resources[0].inject.value']);
  });

  it('points at the line of invalid YAML and of duplicate keys', () => {
    expect(issuesOf('listen:\n  postgres: [unclosed\n')[0]).toMatchObject({ line: expect.any(Number), message: expect.stringContaining('invalid YAML') });
    expect(issuesOf('data_dir: a\ndata_dir: b\n')).toEqual([expect.objectContaining({ line: 2, message: expect.stringContaining('invalid YAML') })]);
    expect(issuesOf('data_dir: *nowhere\n')).toEqual([expect.objectContaining({ message: expect.stringContaining('invalid YAML: Unresolved alias') })]);
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefg'[i]}`).join(', ')}]`)].join('\n');
    expect(issuesOf(`${bomb}\n`)).toEqual([expect.objectContaining({ message: expect.stringContaining('invalid YAML') })]);
    expect(issuesOf('- just\n- a list\n')).toEqual([expect.objectContaining({ message: expect.stringContaining('must hold a mapping') })]);
  });

  it('enforces safe identity settings', () => {
    const issues = issuesOf(
      [
        'identity:',
        '  oidc:',
        '    - issuer: http://issuer.example.com',
        '      audience: sluice',
        '      groups: ["repo:{repository"]',
        '      clock_skew: 1h',
        '      algorithms: [HS256]',
        '  tokens:',
        '    - { name: ci, sha256: "NOT-A-HASH" }',
      ].join('\n'),
    );
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      'identity.oidc[0].issuer: must be an https:// URL (http:// only for a loopback host)',
      expect.stringContaining('identity.oidc[0].groups[0]: not a group template'),
      'identity.oidc[0].clock_skew: must be at most 5m: a larger skew accepts expired tokens',
      expect.stringContaining('identity.oidc[0].algorithms[0]: must be one of RS256'),
      'identity.tokens[0].sha256: must be 64 lowercase hex characters (from `sluice token create`)',
    ]);
  });

  it('reads files from disk and reports an unreadable one clearly', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
    await writeFile(join(dir, 'token'), 's3cr3t-from-file\n');
    await writeFile(
      join(dir, 'sluice.yaml'),
      'resources:\n  - { name: api, type: http, upstream: "https://x", inject: { query: key, value: "${file:token}" } }\n',
    );
    const { config } = await loadConfig(join(dir, 'sluice.yaml'));
    const api = config.resources[0];
    expect(api?.type === 'http' && api.inject?.value?.reveal()).toBe('s3cr3t-from-file');
    await expect(loadConfig(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: 1 problem\n.*cannot read the config file \(ENOENT\)/);
  });
});
