import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { format, inspect } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../proxy/config/load-config.js';
import { runCli, type CliResult } from '../../helpers/run-cli.js';

// A unique upstream secret, fed through every config path, then searched for in every output
// this layer can produce: CLI stdout/stderr, config errors and warnings, serialized config.
const CANARY = `canary${Date.now()}${Math.random().toString(36).slice(2)}`;

function expectNoCanary(...outputs: (string | CliResult)[]): void {
  for (const output of outputs) {
    const text = typeof output === 'string' ? output : `${output.stdout}\n${output.stderr}`;
    expect(text).not.toContain(CANARY);
  }
}

describe('the secret canary', () => {
  let dir: string;
  const env = { DB_PASSWORD: CANARY, API_KEY: `Key ${CANARY}` };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-canary-'));
    await writeFile(join(dir, 'secret-file'), `${CANARY}\n`);
    await writeFile(
      join(dir, 'good.yaml'),
      [
        'resources:',
        '  - { name: db, type: postgres, upstream: "postgres://app@db/app", password: "${env:DB_PASSWORD}" }',
        '  - { name: api, type: http, upstream: "https://api", inject: { header: Authorization, value: "${env:API_KEY}" } }',
        '  - { name: job, type: exec, command: [make], env: { TOKEN: "${file:secret-file}" } }',
        `  - { name: inline, type: http, upstream: "https://x", inject: { query: k, value: "${CANARY}" } }`,
        'audit: { store: "postgres://audit:${env:DB_PASSWORD}@db/audit" }',
      ].join('\n'),
    );
    await writeFile(
      join(dir, 'bad.yaml'),
      [
        `resources:`,
        `  - { name: db, type: postgres, upstream: "postgres://app:${CANARY}@db/app" }`,
        '  - { name: db2, type: postgres, upstream: "${env:DB_PASSWORD}" }',
        '  - { name: api, type: http, upstream: "https://api", inject: { header: X, value: "${env:DB_PASSWORD}", query: q } }',
        `  - { name: api2, type: http, upstream: "https://user:${CANARY}@api.internal/" }`,
        `audit: { store: "postgres://audit:${CANARY}@db/audit" }`,
      ].join('\n'),
    );
  });

  it('never appears in check-config output, on success or on failure', async () => {
    const good = await runCli(['check-config', 'good.yaml'], { cwd: dir, env });
    expect(good.stdout).toMatch(/^ok:/);
    expect(good.stderr).toMatch(/warning: .*inject\.value: secret written inline/);
    const bad = await runCli(['check-config', 'bad.yaml'], { cwd: dir, env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('5 problems');
    expect(bad.stderr).toMatch(/resources\[3\]\.upstream: holds credentials/);
    expectNoCanary(good, bad);
  });

  it('never appears in config errors, warnings or a serialized config', async () => {
    const loaded = await loadConfig(join(dir, 'good.yaml'), { env });
    const error = await loadConfig(join(dir, 'bad.yaml'), { env }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expectNoCanary(
      JSON.stringify(loaded),
      inspect(loaded, { depth: 50 }),
      format('%s %o', loaded.config, loaded.config),
      JSON.stringify(loaded.warnings),
      (error as ConfigError).message,
      (error as ConfigError).stack ?? '',
      JSON.stringify((error as ConfigError).issues),
    );
  });

  it('never appears when a credential is refused', async () => {
    await writeFile(join(dir, 'id.yaml'), 'identity: { tokens: [] }\n');
    const refused = await runCli(['whoami', '--config', 'id.yaml'], { cwd: dir, env: { SLUICE_TOKEN: CANARY } });
    expect(refused.code).toBe(1);
    const jwtShaped = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify({ iss: 'https://x', s: CANARY })).toString('base64url')}.${CANARY}`;
    const refusedJwt = await runCli(['whoami', '--config', 'id.yaml'], { cwd: dir, env: { SLUICE_TOKEN: jwtShaped } });
    expect(refusedJwt.stderr).toMatch(/issuer "https:\/\/x" is not trusted/);
    expectNoCanary(refused, refusedJwt);
  });
});
