import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditStore } from '../../../proxy/audit/audit-store.js';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { runCli } from '../../helpers/run-cli.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';

// audit.durability: strict promises that a statement the client saw complete is in the store,
// whatever happens to the gateway next. `sluice serve` runs as its own process and is killed
// with SIGKILL in the middle of a session: no flush, no seal, no checkpoint.

let db: TestDatabase;
let config: GatewayConfigFile;
let serve: ServeProcess;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  config = await writeGatewayConfig(db, { tls: 'off', durability: 'strict' });
  serve = await startServeProcess(config.configFile);
}, 30_000);

afterAll(async () => {
  await serve?.stop();
  await db?.drop();
});

describe('strict durability', () => {
  it('keeps every statement the client saw complete through a kill -9, and the chains verify', async () => {
    const client = new pg.Client({ host: serve.host, port: serve.port, user: 'ci', password: config.token, database: config.resource });
    client.on('error', () => {});
    await client.connect();
    const completed: string[] = [];
    for (let i = 0; i < 40; i++) {
      const text = `SELECT ${i} AS n`;
      await client.query(text);
      completed.push(text);
    }
    // The moment the client has seen the last statement complete, the gateway dies: without the
    // strict barrier its record would still be on its way to the disk.
    const last = 'SELECT 40 AS n';
    await client.query(last);
    serve.child.kill('SIGKILL');
    completed.push(last);
    await serve.stop('SIGKILL');

    const dataDir = join(config.dir, 'data');
    // The next start marks the session aborted and seals it at its last recorded event.
    const store = await openAuditStore({ dataDir, durability: 'strict' });
    try {
      const [session] = await store.listSessions({ limit: 1 });
      expect(session!.status).toBe('aborted');
      const recorded = (await store.listEvents(session!.id)).filter((event) => event.kind === 'query').map((event) => (event.payload as { text: string }).text);
      for (const text of completed) expect(recorded).toContain(text);
    } finally {
      await store.close();
    }
    const verified = await runCli(['verify', '--config', config.configFile], { env: {} });
    expect(verified.stderr).toBe('');
    expect(verified.stdout).toMatch(/verified .*: 1 sessions, \d+ events, 2 ledger entries/);
    expect(verified.code).toBe(0);
  });

  it('on SIGTERM ends live sessions, seals them and signs a checkpoint over them', async () => {
    const gateway = await startServeProcess(config.configFile);
    const client = new pg.Client({ host: gateway.host, port: gateway.port, user: 'ci', password: config.token, database: config.resource });
    client.on('error', () => {});
    await client.connect();
    await client.query('SELECT 1 AS still_open');
    expect(await gateway.stop('SIGTERM')).toBe(0);
    await client.end().catch(() => undefined);
    const verified = await runCli(['verify', '--config', config.configFile, '--json'], { env: {} });
    const report = JSON.parse(verified.stdout) as { ok: boolean; sessions: number; ledger: number; lastCheckpoint?: { ledgerN: number } };
    expect(report.ok).toBe(true);
    // Both sessions (the one killed above, this one) are sealed, and the last checkpoint covers every entry.
    expect(report.ledger).toBe(4);
    expect(report.lastCheckpoint?.ledgerN).toBe(4);
    const store = await openAuditStore({ dataDir: join(config.dir, 'data'), durability: 'strict' });
    try {
      const [latest] = await store.listSessions({ limit: 1 });
      expect(latest!.status).toBe('closed');
    } finally {
      await store.close();
    }
  });
});
