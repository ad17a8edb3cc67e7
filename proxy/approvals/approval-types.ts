import type { RecordedIdentity, SessionProtocol, SessionRecording } from '../audit/audit-types.js';
import type { Identity } from '../identity/identity.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

/** The requester as approvers see it: the recorded identity plus the claims that matter (CI repository, ref, ...). */
export interface Requester extends RecordedIdentity {
  readonly claims: Readonly<Record<string, string | number | boolean>>;
}

/** What a gateway asks approval for: one held statement (or HTTP request, or tool call). */
export interface ApprovalRequest {
  readonly sessionId: string;
  readonly resource: string;
  readonly protocol: SessionProtocol;
  readonly requester: Requester;
  /** The statement text as approvers see it: the requester's content detectors applied (the hash below covers the real text). */
  readonly statement: string;
  /** Bound parameters for display (extended protocol), as recorded, content detectors applied. */
  readonly params?: readonly (string | null)[];
  /** sha256 (hex) of the exact statement bytes plus parameter bytes: what the decision is bound to. */
  readonly statementHash: string;
  /** Normalized-statement fingerprint: what an "approve for this session" grant covers. */
  readonly fingerprint: string;
  /** The deciding rule and the trace lines (why approval is needed). */
  readonly rule: string;
  readonly reasons: readonly string[];
  /** The deciding rule's own reason (configured, else generated): the approver's headline. Absent in approvals stored by older versions. */
  readonly ruleReason?: string;
  /** The rule lets approvers grant this fingerprint for the rest of the session, up to this long (ms). */
  readonly sessionGrantMs?: number;
  /** The session's earlier statements, oldest first (a bounded tail), for context. */
  readonly history: readonly string[];
}

export interface ApprovalVote {
  readonly approver: { readonly subject: string; readonly issuer: string };
  readonly decision: 'approve' | 'deny';
  readonly reason?: string;
  /** `session`: approve this fingerprint for the session, for the rule's grant time. */
  readonly scope: 'once' | 'session';
  /** Epoch ms. */
  readonly at: number;
}

/** An approval as stored, listed and shown (DESIGN.md's data model). */
export interface Approval extends ApprovalRequest {
  readonly id: string;
  /** In a queue several gateways share: the gateway holding the statement (its signing key's kid). */
  readonly gateway?: string;
  readonly status: ApprovalStatus;
  /** Epoch ms. */
  readonly requestedAt: number;
  readonly expiresAt: number;
  /** Distinct approvers needed. */
  readonly quorum: number;
  readonly votes: readonly ApprovalVote[];
  readonly decidedAt?: number;
  /** Deny reason, expiry or cancel cause; for approvals, the approvers' reasons. */
  readonly reason?: string;
  /** When approved for the session: until when the fingerprint is granted (epoch ms). */
  readonly grantedUntil?: number;
  /** When the held statement was forwarded (single use). */
  readonly executedAt?: number;
}

/** How a held request ends, as the gateway that holds it learns it. */
export type ApprovalOutcome =
  | { readonly status: 'approved'; readonly approval: Approval }
  | { readonly status: 'denied' | 'expired' | 'cancelled'; readonly approval: Approval; readonly reason: string };

export interface DecideInput {
  readonly decision: 'approve' | 'deny';
  /** Required to deny. */
  readonly reason?: string;
  readonly scope?: 'once' | 'session';
}

/** `unavailable`: a shared broker cannot reach its database (or is shutting down); nothing was decided. */
export type ApprovalErrorCode = 'not_found' | 'not_pending' | 'self_approval' | 'duplicate_vote' | 'reason_required' | 'grant_not_allowed' | 'unavailable';

/** A decision the broker refuses, with words the approver sees. */
export class ApprovalError extends Error {
  constructor(
    readonly code: ApprovalErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApprovalError';
  }
}

/** A held request's handle for the gateway holding it. */
export interface PendingApproval {
  readonly approval: Approval;
  /** Settles once: approved, denied, expired or cancelled. Never rejects. */
  readonly outcome: Promise<ApprovalOutcome>;
}

export interface ApprovalListQuery {
  readonly status?: ApprovalStatus;
  /** Most returned, newest first (default 100). */
  readonly limit?: number;
}

/**
 * Holds approval requests until approvers decide, they expire or their session cancels them.
 * Every step is written to the requesting session's recording as an `approval` event.
 */
export interface ApprovalBroker {
  request(request: ApprovalRequest, recording: SessionRecording): PendingApproval;
  /**
   * An approver's vote. The caller (engine API) has checked the approvers role. A shared broker
   * (PostgreSQL, several gateways) answers once its transaction committed; rejects with
   * ApprovalError for a refused vote.
   */
  decide(id: string, approver: Identity, input: DecideInput): Approval | Promise<Approval>;
  /** The requester went away (disconnect, CancelRequest): the request ends as cancelled. */
  cancel(id: string, cause: string): void;
  /** The approved statement was forwarded: recorded, and the approval can never be used again. */
  executed(id: string): void;
  /** An unexpired "approve for this session" grant covering this fingerprint, if any. */
  sessionGrant(sessionId: string, fingerprint: string): Approval | undefined;
  get(id: string): Approval | undefined;
  list(query?: ApprovalListQuery): Approval[];
  /** Listeners for the engine API's events; returns an unsubscribe function. */
  on(event: 'requested' | 'decided', listener: (approval: Approval) => void): () => void;
  /** Cancels every pending request (gateway shutdown) and stops timers (a shared broker also closes its connections). */
  close(): void | Promise<void>;
}
