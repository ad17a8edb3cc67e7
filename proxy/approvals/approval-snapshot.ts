import type { Approval, ApprovalRequest, ApprovalVote } from './approval-types.js';

// The broker hands the same objects to gateways, listeners and the engine API. They are frozen
// all the way down, and built from copies of what the caller passed, so no one (the requester
// included, after the fact) can change what approvers see or what a decision is bound to.

/** A frozen copy of the request, keeping only the fields the contract names. */
export function snapshotRequest(request: ApprovalRequest): ApprovalRequest {
  const { requester } = request;
  return {
    sessionId: request.sessionId,
    resource: request.resource,
    protocol: request.protocol,
    requester: Object.freeze({
      subject: requester.subject,
      issuer: requester.issuer,
      method: requester.method,
      groups: Object.freeze([...requester.groups]),
      claims: Object.freeze({ ...requester.claims }),
    }),
    statement: request.statement,
    ...(request.params !== undefined && { params: Object.freeze([...request.params]) }),
    statementHash: request.statementHash,
    fingerprint: request.fingerprint,
    rule: request.rule,
    reasons: Object.freeze([...request.reasons]),
    ...(request.ruleReason !== undefined && { ruleReason: request.ruleReason }),
    ...(request.sessionGrantMs !== undefined && { sessionGrantMs: request.sessionGrantMs }),
    history: Object.freeze([...request.history]),
  };
}

export function freezeVote(vote: ApprovalVote): ApprovalVote {
  return Object.freeze({ ...vote, approver: Object.freeze({ subject: vote.approver.subject, issuer: vote.approver.issuer }) });
}

/** Freezes the top level; the request parts and votes inside are frozen when they are made. */
export function freezeApproval(approval: Approval): Approval {
  return Object.freeze({ ...approval, votes: Object.freeze([...approval.votes]) });
}
