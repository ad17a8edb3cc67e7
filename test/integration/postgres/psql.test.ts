import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import { findProgram } from '../../helpers/external-program.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

const run = promisify(execFile);
const psql = findProgram('psql');

let db: TestDatabase;
let gateway: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  const admin = await db.connect();
  await admin.query('CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, note text)');
  await admin.query("INSERT INTO customers SELECT i, 'user' || i || '@example.com', 'note, with \"quotes\"' FROM generate_series(1, 100) i");
  await admin.query('CREATE TABLE imported (id int, email text, note text)');
  gateway = await startTestGateway(db);
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

/** Runs psql through the gateway with the token as password; `sslmode` picks TLS or not. */
async function psqlThrough(sslmode: string, args: readonly string[], input?: string): Promise<{ stdout: string; stderr: string }> {
  const env = { ...process.env, PGPASSWORD: gateway.token, PGSSLMODE: sslmode, PGCONNECT_TIMEOUT: '10' };
  if (input === undefined) return run(psql!, ['-X', '-A', '-t', ...args, gateway.url], { env });
  const file = join(gateway.dir, `script-${Date.now()}.sql`);
  await writeFile(file, input);
  return run(psql!, ['-X', '-A', '-t', '-f', file, ...args, gateway.url], { env });
}

describe.skipIf(!psql)('psql through the gateway', () => {
  for (const sslmode of ['require', 'disable']) {
    it(`queries, describes tables and survives an error (sslmode=${sslmode})`, async () => {
      const { stdout: ssl } = await psqlThrough(sslmode, ['-c', 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()']);
      // The upstream leg is plaintext here (sslmode: disable in the resource); the client leg is what varies.
      expect(ssl.trim()).toBe('f');
      const { stdout, stderr } = await psqlThrough(sslmode, [], ['SELECT count(*) FROM customers;', 'SELECT 1/0;', "SELECT 'still here';", '\\d customers', ''].join('\n'));
      expect(stdout).toContain('100');
      expect(stderr).toContain('division by zero');
      expect(stdout).toContain('still here');
      expect(stdout).toMatch(/email\|text\|\|not null/);
    });
  }

  it('negotiates TLS that verifies against the generated certificate (sslmode=verify-full)', async () => {
    const env = { ...process.env, PGPASSWORD: gateway.token, PGSSLMODE: 'verify-full', PGSSLROOTCERT: join(gateway.dir, 'data', 'tls', 'cert.pem') };
    const { stdout } = await run(psql!, ['-X', '-A', '-t', '-c', 'SELECT 7 * 6', gateway.url], { env });
    expect(stdout.trim()).toBe('42');
  });

  it('passes the client\'s startup settings upstream unchanged (client_encoding, application_name, options)', async () => {
    const env = { ...process.env, PGPASSWORD: gateway.token, PGSSLMODE: 'require', PGCLIENTENCODING: 'LATIN1', PGAPPNAME: 'enc-check', PGOPTIONS: '-c search_path=pg_catalog' };
    const { stdout } = await run(psql!, ['-X', '-A', '-t', '-c', "SELECT current_setting('client_encoding'), current_setting('application_name'), current_setting('search_path')", gateway.url], { env });
    expect(stdout.trim()).toBe('LATIN1|enc-check|pg_catalog');
  });

  it('copies out and back in with \\copy', async () => {
    const file = join(gateway.dir, 'customers.csv');
    await psqlThrough('require', ['-c', `\\copy customers TO '${file}' CSV`]);
    const csv = await readFile(file, 'utf8');
    expect(csv.trim().split('\n')).toHaveLength(100);
    expect(csv).toContain('user42@example.com');
    const { stdout } = await psqlThrough('require', ['-c', `\\copy imported FROM '${file}' CSV`]);
    expect(stdout.trim()).toBe('COPY 100');
    const client = await db.connect();
    const { rows } = await client.query("SELECT count(*)::int AS n FROM imported WHERE note = 'note, with \"quotes\"'");
    expect(rows[0].n).toBe(100);
  });

  it('records every statement of a psql session', async () => {
    const marker = `marker_${Date.now()}`;
    await psqlThrough('disable', ['-v', 'ON_ERROR_STOP=0'], [`SELECT '${marker}-1';`, `SELECT '${marker}-2' / 0;`, `SELECT '${marker}-3' FROM customers;`, ''].join('\n'));
    // psql has exited; the gateway records the session's end a moment after its Terminate.
    await eventually(async () => {
      await gateway.engine.store.flush();
      const sessions = await gateway.engine.store.listSessions({ limit: 50 });
      const events = (await Promise.all(sessions.map((session) => gateway.engine.store.listEvents(session.id)))).flat();
      const queries = events.filter((event) => event.kind === 'query' && JSON.stringify(event.payload).includes(marker)).map((event) => event.payload as Record<string, unknown>);
      expect(queries.map((query) => [query.text, query.outcome, query.rows])).toEqual([
        [`SELECT '${marker}-1';`, 'ok', 1],
        [`SELECT '${marker}-2' / 0;`, 'error', 0],
        [`SELECT '${marker}-3' FROM customers;`, 'ok', 100],
      ]);
      const session = sessions.find((candidate) => events.some((event) => event.sessionId === candidate.id && JSON.stringify(event.payload).includes(marker)));
      expect(session).toMatchObject({ status: 'closed', resource: 'testdb', application: 'psql', identity: { subject: 'ci-job', method: 'token' } });
    });
  });
});
