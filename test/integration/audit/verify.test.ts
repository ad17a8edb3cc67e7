import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditStore } from '../../../proxy/audit/audit-store.js';
import { sha256HexSync } from '../../../proxy/audit/event-chain.js';
import { loadOrCreateSigningKey } from '../../../proxy/audit/signing-key.js';
import { SqliteConnection } from '../../../proxy/audit/sqlite/sqlite-connection.js';
import { GENESIS_HASH } from '../../../proxy/common/audit-chain-types.js';
import { canonicalJson } from '../../../proxy/common/canonical-json.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { runCli } from '../../helpers/run-cli.js';

// A real gateway records three sessions and shuts down (signing a checkpoint); then each test
// tampers with a copy of its data directory the way someone with write access to the file could,
// and `sluice verify` must name the first broken link.

let db: TestDatabase;
let gateway: TestGateway;
let sessions: string[];

beforeAll(async () => {
  db = await createTestDatabase(import.meta.url);
  gateway = await startTestGateway(db, { tls: 'off' });
  for (let i = 0; i < 3; i++) {
    const client = await gateway.connect();
    await client.query('SELECT 1 AS one');
    await client.query('SELECT $1::text AS said', [`session ${i}`]);
    await client.end();
  }
  await gateway.engine.store.flush();
  sessions = (await gateway.engine.store.listSessions({})).map((session) => session.id).reverse();
  // Closing the engine seals and checkpoints; the directory stays (close() of the helper removes it).
  await gateway.engine.close();
});

afterAll(async () => {
  await rm(gateway.dir, { recursive: true, force: true });
  await db?.drop();
});

/** A copy of the gateway's directory, tampered with by `change`; then `sluice verify` on it. */
async function verifyAfter(change?: (store: SqliteConnection) => Promise<void>, extra: string[] = [], prepare?: (dataDir: string) => Promise<void>) {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-tamper-'));
  try {
    await cp(gateway.dir, dir, { recursive: true });
    await prepare?.(join(dir, 'data'));
    if (change) {
      const store = await SqliteConnection.open(join(dir, 'data', 'audit.sqlite'), 'readwrite');
      try {
        await change(store);
      } finally {
        await store.close();
      }
    }
    return await runCli(['verify', '--config', join(dir, 'sluice.yaml'), ...extra], { env: {} });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type StoredEvent = [number, number, string, Record<string, unknown>, string, string];

/** Rewrites `session`'s events, gathered from all its stored batches into one. */
async function rewriteEvents(store: SqliteConnection, session: string, edit: (events: StoredEvent[]) => StoredEvent[] | string): Promise<void> {
  const rows = await store.all<{ events: string }>('SELECT events FROM event_batches WHERE session_id = ? ORDER BY first_seq', [session]);
  const events = rows.flatMap((row) => JSON.parse(row.events) as StoredEvent[]);
  const edited = edit(events);
  const last = events.at(-1)!;
  await store.run('DELETE FROM event_batches WHERE session_id = ?', [session]);
  await store.run('INSERT INTO event_batches (session_id, first_seq, last_seq, last_time, events) VALUES (?, 1, ?, ?, ?)', [session, last[0], last[1], typeof edited === 'string' ? edited : JSON.stringify(edited)]);
}

describe('sluice verify', () => {
  it('passes an untouched store, counting what it checked', async () => {
    const result = await verifyAfter();
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/verified .*audit\.sqlite: 3 sessions, \d+ events, 6 ledger entries, 1 checkpoints; last checkpoint \S+ covers ledger entry 6/);
  });

  it('finds one byte of one event changed', async () => {
    const result = await verifyAfter((store) => rewriteEvents(store, sessions[1]!, (events) => JSON.stringify(events).replace('session 1', 'session 7')));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`verification FAILED at session ${sessions[1]}, seq \\d+: event \\d+ \\(query\\) was changed after it was recorded`));
  });

  it('finds an event deleted', async () => {
    const result = await verifyAfter((store) => rewriteEvents(store, sessions[0]!, (events) => events.filter((event) => event[0] !== 2)));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`at session ${sessions[0]}`);
    expect(result.stderr).toMatch(/event 2 is missing/);
  });

  it('finds two events reordered', async () => {
    const result = await verifyAfter((store) => rewriteEvents(store, sessions[2]!, (events) => {
        const at = events.findIndex((event) => event[0] === 2);
        const swapped = [...events];
        [swapped[at], swapped[at + 1]] = [events[at + 1]!, events[at]!];
        return swapped;
      }));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/out of order/);
  });

  it('finds a whole session deleted', async () => {
    const result = await verifyAfter(async (store) => {
      await store.run('DELETE FROM event_batches WHERE session_id = ?', [sessions[1]!]);
      await store.run('DELETE FROM sessions WHERE id = ?', [sessions[1]!]);
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(sessions[1]);
    expect(result.stderr).toMatch(/missing from the store/);
  });

  it('finds a session deleted with the ledger rewritten to match, through the signed checkpoint', async () => {
    const result = await verifyAfter(async (store) => {
      await store.run('DELETE FROM event_batches WHERE session_id = ?', [sessions[1]!]);
      await store.run('DELETE FROM sessions WHERE id = ?', [sessions[1]!]);
      const entries = await store.all<{ n: number; kind: string; session_id: string; hash: string; time: number }>('SELECT n, kind, session_id, hash, time FROM ledger WHERE session_id <> ? ORDER BY n', [sessions[1]!]);
      await store.run('DELETE FROM ledger');
      let prev = GENESIS_HASH;
      for (const [index, entry] of entries.entries()) {
        const fields = { n: index + 1, kind: entry.kind, session_id: entry.session_id, hash: entry.hash, time: entry.time };
        const hash = sha256HexSync(prev + canonicalJson(fields));
        await store.run('INSERT INTO ledger (n, kind, session_id, hash, time, prev, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?)', [fields.n, fields.kind, fields.session_id, fields.hash, fields.time, prev, hash]);
        prev = hash;
      }
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/checkpoint 1 signed ledger entry 6, but the ledger ends at 4: entries were removed/);
  });

  describe('after retention removed sessions', () => {
    /** Retention as the gateway runs it: every session ended before now is removed, signed for. */
    const pruneAll = async (dataDir: string) => {
      const store = await openAuditStore({ dataDir, durability: 'strict' });
      try {
        expect(await store.prune(Date.now() + 1_000, await loadOrCreateSigningKey(dataDir))).toBe(3);
        expect(await store.listSessions({})).toEqual([]);
      } finally {
        await store.close();
      }
    };

    it('still verifies: the ledger names them, the signed retention record vouches for them', async () => {
      const result = await verifyAfter(undefined, [], pruneAll);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/0 sessions, 0 events, 6 ledger entries, 1 checkpoints, 3 sessions removed by retention \(signed\)/);
    });

    it('exports a whole bundle that carries the retention record and verifies offline', async () => {
      let report: { code: number; stdout: string; stderr: string } | undefined;
      await verifyAfter(undefined, [], async (dataDir) => {
        await pruneAll(dataDir);
        // A session recorded after the pruning: the bundle holds it, the ledger names all four.
        const store = await openAuditStore({ dataDir, durability: 'strict' });
        const recording = store.beginSession({ resource: 'testdb', protocol: 'postgres', identity: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'] }, clientAddress: '127.0.0.1:1', application: null });
        await recording.event('query', { text: 'SELECT 1' });
        await recording.end('closed', { statements: 1, errors: 0, rows: 1 });
        await store.close();
        const config = join(dataDir, '..', 'sluice.yaml');
        const file = join(dataDir, '..', 'after-retention.sluice');
        const exported = await runCli(['export', '--config', config, '-o', file], { env: {} });
        expect(exported.stderr).toBe('');
        const line = (await runCli(['key', 'show', '--config', config], { env: {} })).stdout.split('\n')[0]!;
        report = await runCli(['verify', file, '--key', line, '--json'], { env: {} });
      });
      expect(report!.stderr).toBe('');
      expect(JSON.parse(report!.stdout)).toMatchObject({ ok: true, manifest: { partial: false, counts: { sessions: 1, ledger: 8 } } });
    });

    it('finds the retention record deleted, or its list of sessions changed', async () => {
      const deleted = await verifyAfter((store) => store.run('DELETE FROM prunes').then(() => undefined), [], pruneAll);
      expect(deleted.code).toBe(1);
      expect(deleted.stderr).toMatch(/missing from the store/);
      const edited = await verifyAfter(
        async (store) => {
          const row = await store.get<{ sessions: string }>('SELECT sessions FROM prunes');
          const sessionsList = JSON.parse(row!.sessions) as unknown[];
          await store.run('UPDATE prunes SET sessions = ?', [JSON.stringify([...sessionsList, { id: 'forged', first: 'a'.repeat(64), last: 'b'.repeat(64) }])]);
        },
        [],
        pruneAll,
      );
      expect(edited.code).toBe(1);
      expect(edited.stderr).toMatch(/retention record 1 was changed after it was signed/);
    });
  });

  it('refuses a checkpoint checked against another key', async () => {
    const result = await verifyAfter(undefined, ['--key', `sluice-ed25519:${Buffer.alloc(32, 7).toString('base64url')}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/checkpoint 1: checkpoint signature does not verify with key/);
  });
});
