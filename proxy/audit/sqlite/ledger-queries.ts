import { GENESIS_HASH, type LedgerEntry } from '../../common/audit-chain-types.js';
import type { ChainRecords, SessionStatus } from '../audit-types.js';
import type { SqliteConnection } from './sqlite-connection.js';

// The ledger (the chain of session starts and seals) and the signed checkpoints over it.

export const INSERT_LEDGER_SQL = 'INSERT INTO ledger (n, kind, session_id, hash, time, prev, entry_hash) VALUES (?, ?, ?, ?, ?, ?, ?)';

export const INSERT_CHECKPOINT_SQL = 'INSERT INTO checkpoints (time, ledger_n, ledger_head, kid, jws) VALUES (?, ?, ?, ?, ?)';


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
  return {
    sessions: sessions.map((row) => ({ id: row.id, status: row.status, finalHash: row.final_hash })),
    ledger,
    checkpoints: checkpoints.map((row) => ({ n: row.n, time: row.time, ledgerN: row.ledger_n, ledgerHead: row.ledger_head, kid: row.kid, jws: row.jws })),
  };
}
