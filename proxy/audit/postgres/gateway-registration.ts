import type pg from 'pg';
import { GENESIS_HASH } from '../../common/audit-chain-types.js';
import { Ledger } from '../event-chain.js';

// A gateway joining the shared store: it registers (or refreshes) its row, takes over writing
// as itself (a new writer token), picks up its own ledger where its last run left it, and seals
// the sessions that run left open. All in one transaction, under the gateway row's lock, so a
// batch of an older process with the same key cannot slip in between.

export interface GatewayIdentity {
  /** Its signing key's kid. */
  readonly id: string;
  readonly name: string;
  /** sluice-ed25519:… */
  readonly publicKey: string;
}

/** Where this gateway's chains stand once it is registered. */
export interface GatewayState {
  readonly ledger: Ledger;
  /** The last checkpoint and retention record numbers it stored. */
  readonly checkpoints: number;
  readonly prunes: number;
  /** Sessions of its previous run it found open and sealed as aborted. */
  readonly orphansSealed: number;
}

export async function registerGateway(client: pg.ClientBase, gateway: GatewayIdentity, writer: string, now: number, location: string): Promise<GatewayState> {
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ public_key: string }>(
      'INSERT INTO sluice.gateways (id, name, public_key, first_seen, last_seen, writer, writer_batch) VALUES ($1, $2, $3, $4, $4, $5, 0) ' +
        'ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, last_seen = EXCLUDED.last_seen, writer = EXCLUDED.writer, writer_batch = 0 RETURNING public_key',
      [gateway.id, gateway.name, gateway.publicKey, now, writer],
    );
    if (rows[0]?.public_key !== gateway.publicKey) {
      throw new Error(
        `the audit store ${location} has gateway ${gateway.id} registered with public key ${rows[0]?.public_key ?? '(none)'}, not ${gateway.publicKey}: ` +
          'a key id names one key; check which signing key this gateway uses',
      );
    }
    const head = await client.query<{ n: number; entry_hash: string }>('SELECT n, entry_hash FROM sluice.ledger WHERE gateway = $1 ORDER BY n DESC LIMIT 1', [gateway.id]);
    const ledger = new Ledger(head.rows[0]?.n ?? 0, head.rows[0]?.entry_hash ?? GENESIS_HASH);
    const counts = await client.query<{ checkpoints: number; prunes: number }>(
      'SELECT (SELECT coalesce(max(n), 0) FROM sluice.checkpoints WHERE gateway = $1) AS checkpoints, (SELECT coalesce(max(n), 0) FROM sluice.prunes WHERE gateway = $1) AS prunes',
      [gateway.id],
    );
    const orphansSealed = await sealOrphanedSessions(client, gateway.id, ledger);
    await client.query('COMMIT');
    return { ledger, checkpoints: counts.rows[0]?.checkpoints ?? 0, prunes: counts.rows[0]?.prunes ?? 0, orphansSealed };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/**
 * This gateway's sessions still 'open' were left so by a run of it that crashed or was killed:
 * no process records them any more. Marked 'aborted' and sealed at their last recorded event,
 * as the SQLite store does. Other gateways' open sessions are theirs, live or not: untouched.
 */
async function sealOrphanedSessions(client: pg.ClientBase, gateway: string, ledger: Ledger): Promise<number> {
  const { rows } = await client.query<{ id: string; started_at: number; time: number | null; hash: string | null }>(
    'SELECT s.id, s.started_at, e.time, e.hash FROM sluice.sessions AS s ' +
      'LEFT JOIN LATERAL (SELECT time, hash FROM sluice.events WHERE session_id = s.id ORDER BY seq DESC LIMIT 1) AS e ON true ' +
      "WHERE s.gateway = $1 AND s.status = 'open' ORDER BY s.started_at, s.id",
    [gateway],
  );
  for (const session of rows) {
    const time = session.time ?? session.started_at * 1000;
    await client.query("UPDATE sluice.sessions SET status = 'aborted', ended_at = $2, final_hash = $3 WHERE id = $1", [session.id, Math.floor(time / 1000), session.hash]);
    if (session.hash) {
      const entry = ledger.append('seal', session.id, session.hash, time);
      await client.query('INSERT INTO sluice.ledger (gateway, n, kind, session_id, hash, time, prev, entry_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        gateway,
        entry.n,
        entry.kind,
        entry.session_id,
        entry.hash,
        entry.time,
        entry.prev,
        entry.entry_hash,
      ]);
    }
  }
  return rows.length;
}
