import type pg from 'pg';
import { castVote, duplicateVote, expirySettlement, notFound, notPendingMessage, settled, withVote, type Party } from '../approval-rules.js';
import { ApprovalError, type DecideInput } from '../approval-types.js';
import { insertVote, lockApproval, writeDecision, type ApprovalRow } from './approval-rows.js';

export interface Decision {
  /** The approval's state once the transaction committed. */
  readonly row: ApprovalRow;
  /** Set when the vote was refused after all: the approval had expired (and now is, in the row). */
  readonly refusal?: ApprovalError;
}

/**
 * One approver's vote in one transaction. The row lock (SELECT ... FOR UPDATE) serializes votes
 * on one approval across all gateways, so the rules see every vote committed before this one:
 * two approvers racing get one outcome, an approver voting twice at once gets one vote and a
 * duplicate_vote refusal (the unique index backs that). Throws ApprovalError for a refused vote,
 * Error when the database fails.
 */
export async function decideInDatabase(
  pool: pg.Pool,
  id: string,
  approver: Party,
  input: DecideInput,
  rules: { readonly now: () => number; readonly selfApproval: boolean },
): Promise<Decision> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    throw new ApprovalError('unavailable', `cannot decide approval ${id}: the shared approval database is unreachable (${message(error)}); nothing was recorded, try again once it is back`);
  }
  let open = false;
  let broken = false;
  let current: ApprovalRow | undefined;
  try {
    await client.query('BEGIN');
    open = true;
    current = await lockApproval(client, id);
    if (!current) throw notFound(id);
    const at = rules.now();
    // A decision at or after the deadline never counts, whether or not the holder's timer ran.
    if (current.approval.status === 'pending' && at >= current.approval.expiresAt) {
      const expired = settled(current.approval, expirySettlement(current.approval), at);
      const version = await writeDecision(client, expired);
      await client.query('COMMIT');
      open = false;
      return { row: { approval: expired, gateway: current.gateway, version }, refusal: new ApprovalError('not_pending', notPendingMessage(expired)) };
    }
    const { vote, settlement } = castVote(current.approval, approver, input, at, rules.selfApproval);
    await insertVote(client, id, vote);
    const voted = withVote(current.approval, vote);
    const next = settlement ? settled(voted, settlement, at) : voted;
    const version = await writeDecision(client, next);
    await client.query('COMMIT');
    open = false;
    return { row: { approval: next, gateway: current.gateway, version } };
  } catch (error) {
    if (open) await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof ApprovalError) throw error;
    // The row lock serializes votes, so only a vote written around this code can hit the index.
    if ((error as { code?: unknown }).code === '23505' && current) throw duplicateVote(current.approval, approver);
    broken = true;
    throw new ApprovalError('unavailable', `could not decide approval ${id}: the shared approval database failed (${message(error)}); check the approval and vote again if your vote is missing`);
  } finally {
    // A connection that failed mid-transaction is not given back to the pool.
    client.release(broken);
  }
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
