import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../helpers/external-program.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

const run = promisify(execFile);
const psql = findProgram('psql');

describe('the suite PostgreSQL', () => {
  let db: TestDatabase;
  let other: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(import.meta.url);
    other = await createTestDatabase(`${import.meta.url}-other`);
  });
  afterAll(async () => {
    await db.drop();
    await other.drop();
  });

  it('is a real PostgreSQL 18 with a database of our own per test file', async () => {
    const client = await db.connect();
    const { rows } = await client.query<{ server_version_num: string }>('SHOW server_version_num');
    expect(Number(rows[0]!.server_version_num)).toBeGreaterThanOrEqual(180_000);
    await client.query('CREATE TABLE visible_here (id int)');
    const otherClient = await other.connect();
    const { rowCount } = await otherClient.query("SELECT 1 FROM pg_class WHERE relname = 'visible_here'");
    expect(rowCount).toBe(0);
  });

  it.skipIf(!psql)('answers the real psql client', async () => {
    const { stdout } = await run(psql!, ['-X', '-A', '-t', '-c', 'SELECT 40 + 2', db.url]);
    expect(stdout.trim()).toBe('42');
  });
});
