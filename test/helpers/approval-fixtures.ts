import type { ApprovalRequest } from '../../proxy/approvals/approval-types.js';
import { STATIC_TOKEN_ISSUER, type Identity } from '../../proxy/identity/identity.js';

// The people and the held statement the approval broker tests (in-memory and shared) are about.

export const TEN_MINUTES = 600_000;
export const HOUR = 3_600_000;

export function person(subject: string, issuer = STATIC_TOKEN_ISSUER): Identity {
  return { subject, issuer, groups: ['approvers'], claims: {}, method: 'token' };
}

export const alice = person('alice');
export const bob = person('bob');
/** The requester of heldDelete(): may not approve its own request unless self_approval is on. */
export const deployer = person('deploy');

/** A DELETE without WHERE held by rule hold-unbounded-writes in session S1. */
export function heldDelete(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    sessionId: 'S1',
    resource: 'orders-db',
    protocol: 'postgres',
    requester: { subject: 'deploy', issuer: STATIC_TOKEN_ISSUER, method: 'token', groups: ['ci'], claims: { repository: 'acme/shop' } },
    statement: 'DELETE FROM orders',
    statementHash: 'a'.repeat(64),
    fingerprint: 'delete from orders',
    rule: 'hold-unbounded-writes',
    reasons: ['DELETE without WHERE'],
    history: ['SELECT 1'],
    ...overrides,
  };
}
