import type pg from 'pg';
import { freezeApproval, freezeVote, snapshotRequest } from '../approval-snapshot.js';
import type { Approval, ApprovalRequest, ApprovalStatus, ApprovalVote } from '../approval-types.js';

// The SQL of the shared approval queue: rows in, Approvals out. Every change bumps `version` and
// notifies CHANNEL with the approval's id in the same statement or transaction, so the
// notification is delivered exactly when the change commits.

export const CHANNEL = 'sluice_approvals';

/** An approval as a gateway's view holds it: the state, who holds it, and the row version it reflects. */
export interface ApprovalRow {
  readonly approval: Approval;
  readonly gateway: string;
  readonly version: number;
}

export type Queryable = pg.Pool | pg.PoolClient | pg.Client;

interface RawApproval {
  id: string;
  gateway: string;
  request: ApprovalRequest;
  status: ApprovalStatus;
  requested_at: Date;
  expires_at: Date;
  quorum: number;
  decided_at: Date | null;
  reason: string | null;
  granted_until: Date | null;
  executed_at: Date | null;
  version: number;
}

interface RawVote {
  approval_id: string;
  approver_subject: string;
  approver_issuer: string;
  decision: ApprovalVote['decision'];
  reason: string | null;
  scope: ApprovalVote['scope'];
  at: Date;
}

const COLUMNS = 'id, gateway, request, status, requested_at, expires_at, quorum, decided_at, reason, granted_until, executed_at, version';

export async function insertApproval(db: Queryable, approval: Approval, gateway: string): Promise<void> {
  const { id, requestedAt, expiresAt, quorum } = approval;
  await db.query(
    `WITH stored AS (
       INSERT INTO sluice.approvals (id, gateway, session_id, request, status, requested_at, expires_at, quorum)
       VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7) RETURNING id)
     SELECT pg_notify('${CHANNEL}', id) FROM stored`,
    [id, gateway, approval.sessionId, JSON.stringify(snapshotRequest(approval)), new Date(requestedAt), new Date(expiresAt), quorum],
  );
}

/** The approvals with these ids, with their votes; unknown ids are left out. */
export async function fetchApprovals(db: Queryable, ids: readonly string[]): Promise<ApprovalRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<RawApproval>(`SELECT ${COLUMNS} FROM sluice.approvals WHERE id = ANY($1::text[])`, [ids]);
  return withVotes(db, rows);
}

/** What a gateway shows: every pending approval, and the newest `historyLimit` decided ones; oldest request first. */
export async function fetchView(db: Queryable, historyLimit: number): Promise<ApprovalRow[]> {
  const { rows } = await db.query<RawApproval>(
    `(SELECT ${COLUMNS} FROM sluice.approvals WHERE status = 'pending')
     UNION ALL
     (SELECT ${COLUMNS} FROM sluice.approvals WHERE status <> 'pending' ORDER BY decided_at DESC LIMIT $1)`,
    [historyLimit],
  );
  return (await withVotes(db, rows)).sort((a, b) => a.approval.requestedAt - b.approval.requestedAt);
}

/** Locks one approval for a decision (inside a transaction); undefined when there is none. */
export async function lockApproval(client: pg.PoolClient, id: string): Promise<ApprovalRow | undefined> {
  const { rows } = await client.query<RawApproval>(`SELECT ${COLUMNS} FROM sluice.approvals WHERE id = $1 FOR UPDATE`, [id]);
  return (await withVotes(client, rows))[0];
}

export async function insertVote(client: pg.PoolClient, id: string, vote: ApprovalVote): Promise<void> {
  await client.query(
    `INSERT INTO sluice.approval_votes (approval_id, approver_subject, approver_issuer, decision, reason, scope, at)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [id, vote.approver.subject, vote.approver.issuer, vote.decision, vote.reason ?? null, vote.scope, new Date(vote.at)],
  );
}

/**
 * Writes a locked approval's new state (inside the deciding transaction) and notifies at commit.
 * Returns the new row version.
 */
export async function writeDecision(client: pg.PoolClient, approval: Approval): Promise<number> {
  const { rows } = await client.query<{ version: number }>(
    `WITH changed AS (
       UPDATE sluice.approvals
          SET status = $2, decided_at = $3, reason = $4, granted_until = $5, version = version + 1
        WHERE id = $1
        RETURNING id, version)
     SELECT version, pg_notify('${CHANNEL}', id) FROM changed`,
    [approval.id, approval.status, date(approval.decidedAt), approval.reason ?? null, date(approval.grantedUntil)],
  );
  const version = rows[0]?.version;
  if (version === undefined) throw new Error(`approval ${approval.id} disappeared while it was locked`);
  return version;
}

/**
 * Ends an approval as expired or cancelled, only if it is still pending: a decision racing it
 * wins or loses as a whole. True when this call ended it.
 */
export async function endIfPending(db: Queryable, approval: Approval): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH ended AS (
       UPDATE sluice.approvals SET status = $2, decided_at = $3, reason = $4, version = version + 1
        WHERE id = $1 AND status = 'pending' RETURNING id)
     SELECT pg_notify('${CHANNEL}', id) FROM ended`,
    [approval.id, approval.status, date(approval.decidedAt), approval.reason ?? null],
  );
  return (rowCount ?? 0) > 0;
}

/** Records the single use of an approved approval; false when it was not approved or already used. */
export async function markExecuted(db: Queryable, id: string, at: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `WITH used AS (
       UPDATE sluice.approvals SET executed_at = $2, version = version + 1
        WHERE id = $1 AND status = 'approved' AND executed_at IS NULL RETURNING id)
     SELECT pg_notify('${CHANNEL}', id) FROM used`,
    [id, new Date(at)],
  );
  return (rowCount ?? 0) > 0;
}

/** Pending approvals whose deadline passed: this gateway's at `now`, others' `graceMs` later (their holder is gone). */
export async function fetchOverdue(db: Queryable, gateway: string, now: number, graceMs: number): Promise<ApprovalRow[]> {
  const { rows } = await db.query<RawApproval>(
    `SELECT ${COLUMNS} FROM sluice.approvals
      WHERE status = 'pending' AND ((gateway = $1 AND expires_at <= $2) OR expires_at <= $3)
      ORDER BY expires_at LIMIT 100`,
    [gateway, new Date(now), new Date(now - graceMs)],
  );
  return withVotes(db, rows);
}

/** Cancels the pending approvals a gateway held before it restarted: their clients are gone. */
export async function cancelOrphans(db: Queryable, gateway: string, now: number, cause: string): Promise<number> {
  const { rowCount } = await db.query(
    `WITH ended AS (
       UPDATE sluice.approvals SET status = 'cancelled', decided_at = $2, reason = $3, version = version + 1
        WHERE gateway = $1 AND status = 'pending' RETURNING id)
     SELECT pg_notify('${CHANNEL}', id) FROM ended`,
    [gateway, new Date(now), cause],
  );
  return rowCount ?? 0;
}

async function withVotes(db: Queryable, rows: readonly RawApproval[]): Promise<ApprovalRow[]> {
  if (rows.length === 0) return [];
  const { rows: votes } = await db.query<RawVote>(
    `SELECT approval_id, approver_subject, approver_issuer, decision, reason, scope, at
       FROM sluice.approval_votes WHERE approval_id = ANY($1::text[]) ORDER BY approval_id, seq`,
    [rows.map((row) => row.id)],
  );
  const byApproval = new Map<string, ApprovalVote[]>();
  for (const vote of votes) {
    let list = byApproval.get(vote.approval_id);
    if (!list) byApproval.set(vote.approval_id, (list = []));
    list.push(
      freezeVote({
        approver: { subject: vote.approver_subject, issuer: vote.approver_issuer },
        decision: vote.decision,
        ...(vote.reason !== null && { reason: vote.reason }),
        scope: vote.scope,
        at: vote.at.getTime(),
      }),
    );
  }
  return rows.map((row) => ({ approval: toApproval(row, byApproval.get(row.id) ?? []), gateway: row.gateway, version: row.version }));
}

function toApproval(row: RawApproval, votes: readonly ApprovalVote[]): Approval {
  return freezeApproval({
    ...snapshotRequest(row.request),
    id: row.id,
    gateway: row.gateway,
    status: row.status,
    requestedAt: row.requested_at.getTime(),
    expiresAt: row.expires_at.getTime(),
    quorum: row.quorum,
    votes,
    ...(row.decided_at !== null && { decidedAt: row.decided_at.getTime() }),
    ...(row.reason !== null && { reason: row.reason }),
    ...(row.granted_until !== null && { grantedUntil: row.granted_until.getTime() }),
    ...(row.executed_at !== null && { executedAt: row.executed_at.getTime() }),
  });
}

function date(ms: number | undefined): Date | null {
  return ms === undefined ? null : new Date(ms);
}
