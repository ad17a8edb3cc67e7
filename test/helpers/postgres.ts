import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

export interface TestDatabase {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** postgres:// URL for clients (psql, node-postgres). */
  readonly url: string;
  /** A connected node-postgres client; closed by `drop()`. */
  connect(): Promise<pg.Client>;
  /**
   * Turns on `log_statement = all` for this database (new sessions): what PostgreSQL itself saw
   * run is then in `serverLog()`.
   */
  logStatements(): Promise<void>;
  /** The server's log lines for this database: message and detail (e.g. `statement: DELETE ...`). */
  serverLog(): Promise<{ readonly message: string; readonly detail: string }[]>;
  drop(): Promise<void>;
}

/**
 * Creates a database of its own for the calling test file on the suite's PostgreSQL, so test
 * files never see each other's tables and can run in parallel.
 */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const server = inject('postgres');
  const database = `t_${basename(label).replace(/\W+/g, '_').toLowerCase().slice(0, 40)}_${process.pid}_${Date.now() % 100_000}`;
  const admin = new pg.Client({ ...server, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const clients: pg.Client[] = [];
  const { host, port, user, password } = server;
  return {
    host,
    port,
    user,
    password,
    database,
    url: `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/${database}`,
    async connect() {
      const client = new pg.Client({ ...server, database });
      await client.connect();
      clients.push(client);
      return client;
    },
    async logStatements() {
      const admin = new pg.Client({ ...server, database });
      await admin.connect();
      await admin.query(`ALTER DATABASE "${database}" SET log_statement = 'all'`);
      await admin.end();
    },
    async serverLog() {
      // Lines look like `[db] LOG:  statement: ...` with a `[db] DETAIL:  ...` line after some.
      const text = await readFile(inject('postgresLogFile'), 'utf8').catch(() => '');
      const lines: { message: string; detail: string }[] = [];
      const prefix = `[${database}] `;
      for (const line of text.split('\n')) {
        if (!line.startsWith(prefix)) continue;
        const match = /^(\w+): {2}(.*)$/.exec(line.slice(prefix.length));
        if (!match) continue;
        if (match[1] === 'DETAIL' && lines.length > 0) lines[lines.length - 1]!.detail = match[2]!;
        else if (match[1] === 'LOG') lines.push({ message: match[2]!, detail: '' });
      }
      return lines;
    },
    async drop() {
      await Promise.all(clients.map((client) => client.end().catch(() => {})));
      const dropper = new pg.Client({ ...server, database: 'postgres' });
      await dropper.connect();
      await dropper.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await dropper.end();
    },
  };
}
