import { GENESIS_HASH, type LedgerEntry, type PrunedSession } from '../../common/audit-chain-types.js';
import type { ChainRecords, SessionStatus } from '../audit-types.js';
import type { SqliteConnection } from './sqlite-connection.js';

// The ledger (the chain of session starts and seals) and the signed checkpoints over it.

export const INSERT_LEDGER_SQL = 'INSERT INTO ledger (n, kind, session_id, hash, time, prev, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?)';

export const INSERT_CHECKPOINT_SQL = 'INSERT INTO checkpoints (time, ledger_n, ledger_head, kid, jws) VALUES (?, ?, ?, ?, ?)';

export const INSERT_PRUNE_SQL = 'INSERT INTO prunes (time, horizon, sessions, kid, jws) VALUES (?, ?, ?, ?, ?)';

/** Ended sessions whose end is before `horizon` (ms), with the hashes the ledger names them by. */
export async function sessionsToPrune(db: SqliteConnection, horizon: number): Promise<PrunedSession[]> {
  const rows = await db.all<{ id: string; first: string | null; last: string | null }>(
    "SELECT s.id, (SELECT hash FROM ledger WHERE session_id = s.id AND kind = 'start') AS first, s.final_hash AS last " +
      "FROM sessions AS s WHERE s.status <> 'open' AND s.ended_at < ? AND s.final_hash IS NOT NULL ORDER BY s.started_at, s.id",
    [horizon],
  );
  return rows.flatMap((row) => (row.first && row.last ? [{ id: row.id, first: row.first, last: row.last }] : []));
}


/** The ledger's last entry, where a new writer continues the chain. */
export async function ledgerHead(db: SqliteConnection): Promise<{ n: number; head: string }> {
  const row = await db.get<{ n: number; entry_hash: string }>('SELECT n, entry_hash FROM ledger ORDER BY n DESC LIMIT 1');
  return row ? { n: row.n, head: row.entry_hash } : { n: 0, head: GENESIS_HASH };
}

/** Every session's status and seal, the ledger and the checkpoints: what verification reads besides events. */
export async function readChain(db: SqliteConnection): Promise<ChainRecords> {
  const sessions = await db.all<{ id: string; status: SessionStatus; final_hash: string | null }>('SELECT id, status, final_hash FROM sessions ORDER BY started_at, id');
  const ledger = await db.all<LedgerEntry>('SELECT n, kind, session_id, hash, time, prev, entry_hash FROM ledger ORDER BY n');
  const checkpoints = await db.all<{ n: number; time: number; ledger_n: number; ledger_head: string; kid: string; jws: string }>(
    'SELECT n, time, ledger_n, ledger_head, kid, jws FROM checkpoints ORDER BY n',
  );
  const prunes = await db.all<{ n: number; horizon: number; sessions: string; jws: string }>('SELECT n, horizon, sessions, jws FROM prunes ORDER BY n');
  return {
    sessions: sessions.map((row) => ({ id: row.id, status: row.status, finalHash: row.final_hash })),
    ledger,
    checkpoints: checkpoints.map((row) => ({ n: row.n, time: row.time, ledgerN: row.ledger_n, ledgerHead: row.ledger_head, kid: row.kid, jws: row.jws })),
    prunes: prunes.map((row) => ({ n: row.n, horizon: row.horizon, sessions: row.sessions, jws: row.jws })),
  };
}
