import type { ApprovalOutcome } from './approval-types.js';

/** What a requester is told when its request was not approved (SQL, HTTP and exec say it alike). */
export function outcomeMessage(outcome: Exclude<ApprovalOutcome, { status: 'approved' }>): string {
  const { approval } = outcome;
  switch (outcome.status) {
    case 'denied': {
      const by = approval.votes.filter((vote) => vote.decision === 'deny').map((vote) => vote.approver.subject);
      return `approval ${approval.id} denied${by.length > 0 ? ` by ${by.join(', ')}` : ''}: ${outcome.reason}`;
    }
    case 'expired':
    case 'cancelled':
      return `approval ${approval.id} ${outcome.status}: ${outcome.reason}`;
  }
}
