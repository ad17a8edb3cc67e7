import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../helpers/external-program.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

const run = promisify(execFile);
const pgbench = findProgram('pgbench');

let db: TestDatabase;
let gateway: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  gateway = await startTestGateway(db, { tls: 'off' });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

function pgbenchThrough(args: readonly string[]) {
  const env = { ...process.env, PGPASSWORD: gateway.token, PGSSLMODE: 'disable' };
  return run(pgbench!, [...args, '-h', gateway.host, '-p', String(gateway.port), '-U', 'ci', gateway.resource], { env, timeout: 60_000 });
}

describe.skipIf(!pgbench)('pgbench through the gateway', () => {
  it('initialises its tables (COPY IN, DDL, VACUUM)', async () => {
    const { stderr } = await pgbenchThrough(['-i', '-s', '1', '-q']);
    expect(stderr).toContain('done');
    const client = await db.connect();
    const { rows } = await client.query('SELECT count(*)::int AS n FROM pgbench_accounts');
    expect(rows[0].n).toBe(100_000);
  });

  for (const mode of ['simple', 'extended', 'prepared'] as const) {
    it(`runs -S -c 4 -T 5 in -M ${mode} without a failed transaction`, async () => {
      const { stdout } = await pgbenchThrough(['-S', '-c', '4', '-j', '2', '-T', '5', '-M', mode, '-n']);
      const processed = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
      const failed = Number(/number of failed transactions: (\d+)/.exec(stdout)?.[1] ?? 0);
      expect(processed).toBeGreaterThan(100);
      expect(failed).toBe(0);
      if (mode !== 'prepared') return;
      // Every execution of the prepared SELECT is recorded, with its parameter.
      await gateway.engine.store.flush();
      const sessions = await gateway.engine.store.listSessions({ limit: 100 });
      // Only -M prepared names its statements; the simple and extended runs recorded none.
      const executions = (await Promise.all(sessions.map((session) => gateway.engine.store.listEvents(session.id))))
        .flat()
        .filter((event) => event.kind === 'query')
        .filter((event) => {
          const payload = event.payload as { text: string; statement?: string };
          return payload.text.startsWith('SELECT abalance') && payload.statement !== undefined;
        });
      expect(executions).toHaveLength(processed);
      const first = executions[0]!.payload as { params: string[]; protocol: string; statement: string };
      expect(first.protocol).toBe('extended');
      expect(first.statement).toMatch(/^P_?\d+/);
      expect(Number(first.params[0])).toBeGreaterThan(0);
    }, 30_000);
  }
});
