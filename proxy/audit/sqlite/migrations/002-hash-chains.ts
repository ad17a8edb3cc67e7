import { GENESIS_HASH } from '../../../common/audit-chain-types.js';
import { EventChain, Ledger } from '../../event-chain.js';
import type { Migration } from '../migrate.js';
import type { SqliteConnection } from '../sqlite-connection.js';

// The tamper-evident chains (docs/audit-format.md). Events gain prev_hash and hash (elements 4
// and 5 of each [seq, time, kind, payload, prev_hash, hash]); a session's last hash is its seal
// (sessions.final_hash); the ledger chains every session's start and seal, so a deleted session
// breaks it; checkpoints sign the ledger's head. Events recorded before this version are chained
// here, in the order they were stored, so the whole store verifies from now on.
const SQL = `
ALTER TABLE sessions ADD COLUMN final_hash TEXT;

CREATE TABLE ledger (
  n INTEGER PRIMARY KEY CHECK (n >= 1),
  kind TEXT NOT NULL CHECK (kind IN ('start', 'seal')),
  session_id TEXT NOT NULL,
  hash TEXT NOT NULL,
  time INTEGER NOT NULL,
  prev TEXT NOT NULL,
  entry_hash TEXT NOT NULL
) STRICT;

CREATE TABLE checkpoints (
  n INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,                   -- ms since the epoch
  ledger_n INTEGER NOT NULL,
  ledger_head TEXT NOT NULL,
  kid TEXT NOT NULL,
  jws TEXT NOT NULL                        -- compact JWS (EdDSA) over {kid, time, ledger_n, ledger_head}
) STRICT;

DROP VIEW events;
CREATE VIEW events (session_id, seq, time, kind, payload, prev_hash, hash) AS
  SELECT b.session_id, e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value -> 3, e.value ->> 4, e.value ->> 5
  FROM event_batches AS b, json_each(b.events) AS e;
`;

export const migration002: Migration = {
  version: 2,
  name: 'hash-chains',
  async up(db) {
    await db.exec(SQL);
    await chainExistingEvents(db);
  },
};

/** Chains the events of stores written before version 2, session by session in start order. */
async function chainExistingEvents(db: SqliteConnection): Promise<void> {
  const sessions = await db.all<{ id: string; status: string; started_at: number; ended_at: number | null }>('SELECT id, status, started_at, ended_at FROM sessions ORDER BY started_at, id');
  const ledger = new Ledger(0, GENESIS_HASH);
  for (const session of sessions) {
    const chain = new EventChain(session.id);
    let first: string | undefined;
    const batches = await db.all<{ first_seq: number; events: string }>('SELECT first_seq, events FROM event_batches WHERE session_id = ? ORDER BY first_seq', [session.id]);
    for (const batch of batches) {
      const events = JSON.parse(batch.events) as [number, number, string, Record<string, unknown>][];
      const chained = events.map(([, time, kind, payload]) => {
        const hashed = chain.next(kind, time, payload);
        first ??= hashed.hash;
        return `[${hashed.seq},${time},${JSON.stringify(kind)},${hashed.payload},"${hashed.prevHash}","${hashed.hash}"]`;
      });
      await db.run('UPDATE event_batches SET events = ? WHERE session_id = ? AND first_seq = ?', [`[${chained.join(',')}]`, session.id, batch.first_seq]);
    }
    if (first === undefined) continue;
    const entries = [ledger.append('start', session.id, first, session.started_at * 1000)];
    if (session.status !== 'open') {
      entries.push(ledger.append('seal', session.id, chain.head, (session.ended_at ?? session.started_at) * 1000));
      await db.run('UPDATE sessions SET final_hash = ? WHERE id = ?', [chain.head, session.id]);
    }
    for (const entry of entries) await db.run('INSERT INTO ledger (n, kind, session_id, hash, time, prev, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?)', [entry.n, entry.kind, entry.session_id, entry.hash, entry.time, entry.prev, entry.entry_hash]);
  }
}
