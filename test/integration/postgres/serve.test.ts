import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditStore } from '../../../proxy/audit/audit-store.js';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { startServeProcess } from '../../helpers/serve-process.js';
import { join } from 'node:path';

const run = promisify(execFile);

let db: TestDatabase;
let config: GatewayConfigFile;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  config = await writeGatewayConfig(db, { tls: 'auto' });
});

afterAll(async () => {
  await db?.drop();
});

describe('sluice serve', () => {
  it('prints where it listens, serves sessions, and on SIGTERM ends them cleanly and exits 0', async () => {
    const serve = await startServeProcess(config.configFile);
    expect(serve.stdout()).toMatch(/postgres listening on 127\.0\.0\.1:\d+ \(TLS with a self-signed certificate \(sha256 [0-9A-F:]+\)\)/);
    const client = new pg.Client({ host: serve.host, port: serve.port, user: 'ci', password: config.token, database: config.resource, ssl: { rejectUnauthorized: false } });
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    await client.connect();
    await client.query('SELECT 1');
    const ended = new Promise((resolve) => client.once('end', resolve));

    expect(await serve.stop('SIGTERM')).toBe(0);
    await ended;
    // The FATAL the gateway sends, then node-postgres's own "connection terminated".
    expect((errors[0] as Error & { code?: string }).code).toBe('57P01');
    expect(errors[0]?.message).toBe('the Sluice gateway is shutting down');
    expect(serve.stderr()).toContain('shutting down');

    const store = await openAuditStore({ dataDir: join(config.dir, 'data'), durability: 'batched' });
    const [session] = await store.listSessions({ limit: 1 });
    await store.close();
    expect(session).toMatchObject({ status: 'closed', counters: { statements: 1 } });
  }, 30_000);

  it('refuses a second gateway on the same data_dir, naming the one that holds it', async () => {
    const first = await startServeProcess(config.configFile);
    try {
      const second = await run(process.execPath, ['--import', 'tsx', 'proxy/cli/main.ts', 'serve', '--config', config.configFile]).catch((error: { code: number; stderr: string }) => error);
      expect(second, JSON.stringify(second)).toMatchObject({ code: 1, stderr: expect.stringContaining(`is in use by another Sluice gateway (pid ${first.pid})`) });
    } finally {
      await first.stop();
    }
    // Released on a clean stop: the next start works.
    const again = await startServeProcess(config.configFile);
    expect(await again.stop()).toBe(0);
  }, 30_000);

  it('exits 1 naming the key when the listener cannot start', async () => {
    const blocker = await startServeProcess(config.configFile);
    try {
      const busy = await writeGatewayConfig(db, { tls: 'off' });
      const { readFile, writeFile } = await import('node:fs/promises');
      const text = (await readFile(busy.configFile, 'utf8')).replace('127.0.0.1:0', `127.0.0.1:${blocker.port}`);
      await writeFile(busy.configFile, text);
      const failure = await run(process.execPath, ['--import', 'tsx', 'proxy/cli/main.ts', 'serve', '--config', busy.configFile]).catch((error: { code: number; stderr: string }) => error);
      expect(failure).toMatchObject({ code: 1 });
      expect((failure as { stderr: string }).stderr).toMatch(/listen\.postgres: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/);
    } finally {
      await blocker.stop();
    }
  }, 30_000);
});
