import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../tools/embedded-postgres.js';
import { runCli } from '../../helpers/run-cli.js';

const root = resolve(import.meta.dirname, '../../..');

describe('npm run demo', () => {
  it('starts PostgreSQL, writes a valid config and a working token, twice in a row', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-demo-'));
    const env = { ...process.env, SLUICE_DEMO_DIR: dir, SLUICE_DEMO_PG_PORT: String(await freePort()), SLUICE_DEMO_EXIT_WHEN_READY: '1' };
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: root, env, timeout: 120_000 });

    const first = await run();
    expect(first.stdout).toMatch(/PostgreSQL is up: PostgreSQL 18\./);
    const token = /^Token: {3}(slu_\S+)$/m.exec(first.stdout)?.[1];
    expect(first.stdout).toContain('authenticates as "demo" with groups [ci, approvers]');

    // A second run reuses the cluster, the password and the token.
    const second = await run();
    expect(/^Token: {3}(slu_\S+)$/m.exec(second.stdout)?.[1]).toBe(token);

    const check = await runCli(['check-config', join(dir, 'sluice.yaml')], { env: {} });
    expect(check.code).toBe(0);
    expect(check.stdout).toContain('resources: 1 — demo-db (postgres)');
    const who = await runCli(['whoami', '--config', join(dir, 'sluice.yaml')], { env: { SLUICE_TOKEN: token } });
    expect(who.stdout).toMatch(/^subject: demo\n/);
  }, 180_000);
});
