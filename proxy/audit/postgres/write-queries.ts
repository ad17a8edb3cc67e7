import type pg from 'pg';
import type { LedgerEntry } from '../../common/audit-chain-types.js';
import type { EventRow } from '../event-chain.js';

// What one batch writes, and the transaction that writes it. Each kind of row goes in with one
// statement whatever the count (unnest over array parameters: one prepared statement serves 1
// row or 500), rows in the order they were queued.

export interface SessionRow {
  readonly id: string;
  readonly resource: string;
  readonly protocol: string;
  /** JSON text: {subject, issuer, method, groups}. */
  readonly identity: string;
  readonly clientAddress: string;
  readonly application: string | null;
  /** ms since the epoch. */
  readonly startedAt: number;
}


export interface EndRow {
  readonly id: string;
  readonly status: 'closed' | 'aborted';
  readonly endedAt: number;
  /** JSON text: {statements, errors, rows}. */
  readonly counters: string;
  readonly finalHash: string;
}

export interface CheckpointRow {
  readonly n: number;
  readonly time: number;
  readonly ledgerN: number;
  readonly ledgerHead: string;
  readonly kid: string;
  readonly jws: string;
}

export interface PruneRow {
  readonly n: number;
  readonly time: number;
  readonly horizon: number;
  /** Canonical JSON of the PrunedSession list the JWS covers. */
  readonly sessions: string;
  readonly kid: string;
  readonly jws: string;
  /** The sessions whose rows and events go with it. */
  readonly sessionIds: readonly string[];
}

export interface BatchRows {
  readonly sessions: readonly SessionRow[];
  readonly events: readonly EventRow[];
  readonly ledger: readonly LedgerEntry[];
  readonly ends: readonly EndRow[];
  readonly checkpoints: readonly CheckpointRow[];
  readonly prunes: readonly PruneRow[];
}

/** Who writes: the gateway, and this process's token and batch number (see the claim below). */
export interface BatchClaim {
  readonly gateway: string;
  readonly writer: string;
  readonly batch: number;
  /** ms since the epoch: the gateway's last_seen. */
  readonly time: number;
}

/** A process opened the store later as the same gateway (the same signing key): this one may no longer write as it. */
export class WriterReplacedError extends Error {
  constructor(location: string, gateway: string) {
    super(
      `another process opened the audit store ${location} as gateway ${gateway} (the same signing key) and writes as it now; ` +
        'this one stopped recording: give each gateway its own data_dir, so its own key',
    );
    this.name = 'WriterReplacedError';
  }
}

// The claim: this process still writes as the gateway, and this batch is the next one. A retry
// after a connection lost while COMMIT was on its way finds writer_batch already at the batch
// (it had committed): nothing is written twice, and the inserts need no ON CONFLICT that would
// also hide a genuine collision. The row lock serializes a gateway's own transactions only.
const CLAIM_SQL = 'UPDATE sluice.gateways SET last_seen = $4, writer_batch = $3 WHERE id = $1 AND writer = $2 AND writer_batch < $3';

const INSERT_SESSIONS_SQL =
  'INSERT INTO sluice.sessions (id, gateway, resource, protocol, identity, client_address, application, started_at, status, counters) ' +
  `SELECT id, $1, resource, protocol, identity::jsonb, client_address, application, started_at, 'open', '{"statements":0,"errors":0,"rows":0}'::jsonb ` +
  'FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[]) AS s (id, resource, protocol, identity, client_address, application, started_at)';

const INSERT_EVENTS_SQL =
  'INSERT INTO sluice.events (session_id, seq, time, kind, payload, prev_hash, hash) ' +
  'SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[])';

const INSERT_LEDGER_SQL =
  'INSERT INTO sluice.ledger (gateway, n, kind, session_id, hash, time, prev, entry_hash) ' +
  'SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::text[])';

const END_SESSIONS_SQL =
  'UPDATE sluice.sessions AS s SET status = e.status, ended_at = e.ended_at, counters = e.counters::jsonb, final_hash = e.final_hash ' +
  'FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[]) AS e (id, status, ended_at, counters, final_hash) WHERE s.id = e.id';

const INSERT_CHECKPOINT_SQL = 'INSERT INTO sluice.checkpoints (gateway, n, time, ledger_n, ledger_head, kid, jws) VALUES ($1, $2, $3, $4, $5, $6, $7)';
const INSERT_PRUNE_SQL = 'INSERT INTO sluice.prunes (gateway, n, time, horizon, sessions, kid, jws) VALUES ($1, $2, $3, $4, $5, $6, $7)';

/**
 * Writes one batch in one transaction. 'already': an earlier attempt of this very batch had
 * committed (its acknowledgement was lost with the connection). Throws WriterReplacedError when
 * another process writes as this gateway now; any other error leaves the transaction to roll back.
 */
export async function commitBatch(client: pg.ClientBase, claim: BatchClaim, rows: BatchRows, location: string): Promise<'committed' | 'already'> {
  const { gateway } = claim;
  await client.query('BEGIN');
  const claimed = await client.query({ name: 'sluice-claim', text: CLAIM_SQL, values: [gateway, claim.writer, claim.batch, claim.time] });
  if (claimed.rowCount !== 1) {
    const { rows: found } = await client.query<{ writer: string | null; writer_batch: number }>('SELECT writer, writer_batch FROM sluice.gateways WHERE id = $1', [gateway]);
    await client.query('ROLLBACK');
    if (found[0]?.writer === claim.writer && found[0].writer_batch >= claim.batch) return 'already';
    throw new WriterReplacedError(location, gateway);
  }
  if (rows.sessions.length > 0) {
    const s = rows.sessions;
    await client.query({
      name: 'sluice-insert-sessions',
      text: INSERT_SESSIONS_SQL,
      values: [gateway, s.map((r) => r.id), s.map((r) => r.resource), s.map((r) => r.protocol), s.map((r) => r.identity), s.map((r) => r.clientAddress), s.map((r) => r.application), s.map((r) => r.startedAt)],
    });
  }
  if (rows.events.length > 0) {
    const e = rows.events;
    await client.query({
      name: 'sluice-insert-events',
      text: INSERT_EVENTS_SQL,
      values: [e.map((r) => r.session_id), e.map((r) => r.seq), e.map((r) => r.time), e.map((r) => r.kind), e.map((r) => r.payload), e.map((r) => r.prev_hash), e.map((r) => r.hash)],
    });
  }
  if (rows.ledger.length > 0) {
    const l = rows.ledger;
    await client.query({
      name: 'sluice-insert-ledger',
      text: INSERT_LEDGER_SQL,
      values: [gateway, l.map((r) => r.n), l.map((r) => r.kind), l.map((r) => r.session_id), l.map((r) => r.hash), l.map((r) => r.time), l.map((r) => r.prev), l.map((r) => r.entry_hash)],
    });
  }
  if (rows.ends.length > 0) {
    const d = rows.ends;
    await client.query({
      name: 'sluice-end-sessions',
      text: END_SESSIONS_SQL,
      values: [d.map((r) => r.id), d.map((r) => r.status), d.map((r) => r.endedAt), d.map((r) => r.counters), d.map((r) => r.finalHash)],
    });
  }
  for (const c of rows.checkpoints) {
    await client.query({ name: 'sluice-insert-checkpoint', text: INSERT_CHECKPOINT_SQL, values: [gateway, c.n, c.time, c.ledgerN, c.ledgerHead, c.kid, c.jws] });
  }
  for (const p of rows.prunes) {
    await client.query('DELETE FROM sluice.events WHERE session_id = ANY ($1::text[])', [p.sessionIds]);
    await client.query('DELETE FROM sluice.sessions WHERE gateway = $1 AND id = ANY ($2::text[])', [gateway, p.sessionIds]);
    await client.query({ name: 'sluice-insert-prune', text: INSERT_PRUNE_SQL, values: [gateway, p.n, p.time, p.horizon, p.sessions, p.kid, p.jws] });
  }
  // A transaction a failed statement aborted answers COMMIT with ROLLBACK, not an error.
  const committed = await client.query('COMMIT');
  if (committed.command !== 'COMMIT') throw new Error(`the transaction was rolled back (${committed.command})`);
  return 'committed';
}
