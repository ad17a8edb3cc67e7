import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestVersion, migrate, schemaVersion, type Migration } from '../../../proxy/audit/sqlite/migrate.js';
import { MIGRATIONS } from '../../../proxy/audit/sqlite/migrations/index.js';
import { SqliteConnection } from '../../../proxy/audit/sqlite/sqlite-connection.js';
import { auditFile, openReaderConnection, openWriterConnection } from '../../../proxy/audit/sqlite/store-file.js';
import { useTempDirs } from './audit-fixtures.js';

const tempDir = useTempDirs();

async function tables(db: SqliteConnection): Promise<string[]> {
  const rows = await db.all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name");
  return rows.map((row) => row.name);
}

/** A store file at `version` with nothing in it, as a newer (or broken) build would leave it. */
async function fileAtVersion(version: number): Promise<string> {
  const dir = join(await tempDir(), 'data');
  await openWriterConnection(dir, 'batched').then((db) => db.close());
  const db = await SqliteConnection.open(auditFile(dir), 'readwrite');
  await db.run(`PRAGMA user_version = ${version}`);
  await db.close();
  return dir;
}

describe('audit store migrations', () => {
  it('are numbered 1, 2, 3, … in files named after their number', async () => {
    expect(MIGRATIONS.map((migration) => migration.version)).toEqual(MIGRATIONS.map((_, index) => index + 1));
    const files = (await readdir(resolve(import.meta.dirname, '../../../proxy/audit/sqlite/migrations'))).filter((file) => /^\d{3}-/.test(file)).sort();
    expect(files).toEqual(MIGRATIONS.map((migration) => `${String(migration.version).padStart(3, '0')}-${migration.name}.ts`));
  });

  it('creates a fresh store with every migration and records the version in user_version', async () => {
    const dir = join(await tempDir(), 'data');
    const db = await openWriterConnection(dir, 'batched');
    try {
      expect(await schemaVersion(db)).toBe(latestVersion(MIGRATIONS));
      expect(await tables(db)).toEqual(['checkpoints', 'event_batches', 'ledger', 'prunes', 'sessions']);
      expect((await db.get<{ journal_mode: string }>('PRAGMA journal_mode'))?.journal_mode).toBe('wal');
    } finally {
      await db.close();
    }
    // Opening it again applies nothing and keeps the version.
    const again = await openWriterConnection(dir, 'batched');
    expect(await migrate(again, MIGRATIONS)).toEqual([]);
    await again.close();
  });

  it('refuses a store from a newer build, saying which version the file has and which it knows', async () => {
    const dir = await fileAtVersion(999);
    const message = /the audit store .*audit\.sqlite has schema version 999, but this build of Sluice knows versions up to 3: it was written by a newer Sluice/;
    await expect(openWriterConnection(dir, 'batched')).rejects.toThrow(message);
    await expect(openReaderConnection(auditFile(dir))).rejects.toThrow(message);
    // Refused before anything was changed.
    const db = await SqliteConnection.open(auditFile(dir), 'readonly');
    expect(await schemaVersion(db)).toBe(999);
    await db.close();
  });

  it('tells a reader to let the gateway upgrade an older store first', async () => {
    const dir = await fileAtVersion(0);
    await expect(openReaderConnection(auditFile(dir))).rejects.toThrow(/has schema version 0, older than this build's 3; start `sluice serve` with this config once to upgrade it/);
  });

  it('applies each migration in one transaction: a failing step leaves the previous version intact', async () => {
    const dir = await tempDir();
    const db = await SqliteConnection.open(join(dir, 'a.sqlite'), 'create');
    const broken: Migration = {
      version: 4,
      name: 'broken',
      up: (conn) => conn.exec('CREATE TABLE half_done (a INTEGER); SELECT no_such_function();'),
    };
    await expect(migrate(db, [...MIGRATIONS, broken])).rejects.toThrow(/could not be upgraded to version 4 \(broken\): .*no such function: no_such_function/);
    expect(await schemaVersion(db)).toBe(3);
    expect(await tables(db)).toEqual(['checkpoints', 'event_batches', 'ledger', 'prunes', 'sessions']);
    await db.close();
  });

  it('lets two processes open a fresh store at once: each step is applied once', async () => {
    const dir = join(await tempDir(), 'data');
    const [a, b] = await Promise.all([openWriterConnection(dir, 'batched'), openWriterConnection(dir, 'batched')]);
    expect([await schemaVersion(a), await schemaVersion(b)]).toEqual([3, 3]);
    await Promise.all([a.close(), b.close()]);
  });

  describe('001 sessions-and-events', () => {
    async function migrated(): Promise<SqliteConnection> {
      const db = await SqliteConnection.open(join(await tempDir(), 'a.sqlite'), 'create');
      await migrate(db, MIGRATIONS.filter((migration) => migration.version <= 1));
      await db.run('PRAGMA foreign_keys = ON');
      return db;
    }
    const session = (overrides: Record<string, unknown> = {}) => {
      const row = { id: 'S1', resource: 'db', protocol: 'postgres', identity: '{}', client_address: '::1', application: null, started_at: 1, ended_at: null, status: 'open', counters: '{}', ...overrides };
      return [Object.keys(row), Object.values(row) as (string | number | null)[]] as const;
    };
    const insertSession = (db: SqliteConnection, overrides: Record<string, unknown> = {}) => {
      const [columns, values] = session(overrides);
      return db.run(`INSERT INTO sessions (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`, values);
    };
    const insertBatch = (db: SqliteConnection, values: (string | number)[]) => db.run('INSERT INTO event_batches (session_id, first_seq, last_seq, last_time, events) VALUES (?, ?, ?, ?, ?)', values);

    it('creates sessions and events with their columns and indexes', async () => {
      const db = await migrated();
      const columns = async (table: string) => (await db.all<{ name: string }>(`PRAGMA table_info(${table})`)).map((row) => row.name);
      expect(await columns('sessions')).toEqual(['id', 'resource', 'protocol', 'identity', 'client_address', 'application', 'started_at', 'ended_at', 'status', 'counters']);
      expect(await columns('event_batches')).toEqual(['session_id', 'first_seq', 'last_seq', 'last_time', 'events']);
      // One row per event through the view, for queries and for auditors with sqlite3.
      expect(await columns('events')).toEqual(['session_id', 'seq', 'time', 'kind', 'payload']);
      const indexes = await db.all<{ name: string }>("SELECT name FROM sqlite_schema WHERE type = 'index' AND name NOT LIKE 'sqlite_%' ORDER BY name");
      expect(indexes.map((row) => row.name)).toEqual(['sessions_by_resource', 'sessions_by_start', 'sessions_open']);
      await db.close();
    });

    it('keeps protocol, status, JSON columns and seq within their domains', async () => {
      const db = await migrated();
      await insertSession(db);
      await expect(insertSession(db, { id: 'S2', protocol: 'ftp' })).rejects.toThrow(/CHECK constraint failed/);
      await expect(insertSession(db, { id: 'S3', status: 'paused' })).rejects.toThrow(/CHECK constraint failed/);
      await expect(insertSession(db, { id: 'S4', identity: '{not json' })).rejects.toThrow(/CHECK constraint failed/);
      await expect(insertSession(db, { id: 'S5', started_at: 'yesterday' })).rejects.toThrow(/cannot store TEXT value in INTEGER column/);
      await insertBatch(db, ['S1', 1, 2, 2_000, '[[1,1000,"connect",{"a":1}],[2,2000,"query",{"text":"SELECT 1"}]]']);
      await expect(insertBatch(db, ['S1', 1, 1, 3_000, '[]'])).rejects.toThrow(/UNIQUE constraint failed/);
      await expect(insertBatch(db, ['S1', 0, 0, 3_000, '[]'])).rejects.toThrow(/CHECK constraint failed/);
      await expect(insertBatch(db, ['S1', 5, 4, 3_000, '[]'])).rejects.toThrow(/CHECK constraint failed/);
      await expect(insertBatch(db, ['nope', 1, 1, 3_000, '[]'])).rejects.toThrow(/FOREIGN KEY constraint failed/);
      const events = await db.all('SELECT session_id, seq, time, kind, payload FROM events ORDER BY seq');
      expect(events).toEqual([
        { session_id: 'S1', seq: 1, time: 1_000, kind: 'connect', payload: '{"a":1}' },
        { session_id: 'S1', seq: 2, time: 2_000, kind: 'query', payload: '{"text":"SELECT 1"}' },
      ]);
      await db.close();
    });
  });

  describe('002 hash-chains', () => {
    it('chains events recorded before it, so an upgraded store verifies', async () => {
      const db = await SqliteConnection.open(join(await tempDir(), 'a.sqlite'), 'create');
      await migrate(db, MIGRATIONS.filter((migration) => migration.version <= 1));
      const insert = 'INSERT INTO sessions (id, resource, protocol, identity, client_address, application, started_at, ended_at, status, counters) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
      await db.run(insert, ['S1', 'db', 'postgres', '{}', '::1', null, 1_000, 2_000, 'closed', '{}']);
      await db.run(insert, ['S2', 'db', 'postgres', '{}', '::1', null, 1_500, null, 'open', '{}']);
      const batch = 'INSERT INTO event_batches (session_id, first_seq, last_seq, last_time, events) VALUES (?, ?, ?, ?, ?)';
      await db.run(batch, ['S1', 1, 2, 1_500_000, '[[1,1000000,"connect",{"b":1,"a":2}],[2,1500000,"query",{"text":"SELECT 1"}]]']);
      await db.run(batch, ['S1', 3, 3, 2_000_000, '[[3,2000000,"disconnect",{"status":"closed"}]]']);
      await db.run(batch, ['S2', 1, 1, 1_500_000, '[[1,1500000,"connect",{}]]']);
      await migrate(db, MIGRATIONS);
      const events = await db.all<{ session_id: string; seq: number; payload: string; prev_hash: string; hash: string }>('SELECT session_id, seq, payload, prev_hash, hash FROM events ORDER BY session_id, seq');
      expect(events.map((event) => [event.session_id, event.seq, event.payload])).toEqual([
        ['S1', 1, '{"a":2,"b":1}'],
        ['S1', 2, '{"text":"SELECT 1"}'],
        ['S1', 3, '{"status":"closed"}'],
        ['S2', 1, '{}'],
      ]);
      expect(events[1]!.prev_hash).toBe(events[0]!.hash);
      expect(events[2]!.prev_hash).toBe(events[1]!.hash);
      const sessions = await db.all<{ id: string; final_hash: string | null }>('SELECT id, final_hash FROM sessions ORDER BY id');
      expect(sessions).toEqual([
        { id: 'S1', final_hash: events[2]!.hash },
        { id: 'S2', final_hash: null },
      ]);
      const ledger = await db.all<{ n: number; kind: string; session_id: string; hash: string }>('SELECT n, kind, session_id, hash FROM ledger ORDER BY n');
      expect(ledger).toEqual([
        { n: 1, kind: 'start', session_id: 'S1', hash: events[0]!.hash },
        { n: 2, kind: 'seal', session_id: 'S1', hash: events[2]!.hash },
        { n: 3, kind: 'start', session_id: 'S2', hash: events[3]!.hash },
      ]);
      await db.close();
    });
  });
});
