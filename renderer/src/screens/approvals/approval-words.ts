import type { Approval, ApiError, ApprovalStatus } from '../../../../proxy/api/api-contract.js';
import { sqlTokens } from '../../ui/sql-tokens.js';

// The inbox's words for approvals: what a request does, who decided it, what went wrong.

/** The CI claims an approver weighs (GitHub Actions and GitLab names), in the order they read best. */
export const CI_CLAIMS: readonly { readonly key: string; readonly label: string }[] = [
  { key: 'repository', label: 'Repository' },
  { key: 'workflow', label: 'Workflow' },
  { key: 'job_workflow_ref', label: 'Job workflow' },
  { key: 'ref', label: 'Ref' },
  { key: 'environment', label: 'Environment' },
  { key: 'runner_environment', label: 'Runner' },
  { key: 'actor', label: 'Actor' },
  { key: 'run_id', label: 'Run' },
];

/** "DELETE", "WITH … UPDATE" reads as its first keyword; a statement without one as "Statement". */
export function statementVerb(statement: string): string {
  const first = sqlTokens(statement.slice(0, 500)).find((token) => token.kind !== 'space' && token.kind !== 'comment');
  return first?.kind === 'keyword' ? first.text.toUpperCase() : 'Statement';
}

/** The statement on one line, for lists and notifications. */
export function oneLine(statement: string, max = 160): string {
  const flat = statement.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

export const STATUS_LABEL: Readonly<Record<ApprovalStatus, string>> = {
  pending: 'Waiting',
  approved: 'Approved',
  denied: 'Denied',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

/** Who settled it: the approvers whose votes counted, or what ended it. */
export function decidedBy(approval: Approval): string {
  switch (approval.status) {
    case 'approved':
      return approval.votes.filter((vote) => vote.decision === 'approve').map((vote) => vote.approver.subject).join(', ') || '—';
    case 'denied':
      return approval.votes.filter((vote) => vote.decision === 'deny').map((vote) => vote.approver.subject).join(', ') || '—';
    case 'expired':
      return 'nobody (timed out)';
    case 'cancelled':
      return 'nobody (cancelled)';
    case 'pending':
      return '';
  }
}

/** Approve votes so far, for quorum progress. */
export function approveVotes(approval: Approval): number {
  return approval.votes.filter((vote) => vote.decision === 'approve').length;
}

/** A refused decision, in words: what did not happen, then the gateway's reason. */
export function decisionErrorTitle(decision: 'approve' | 'deny', error: ApiError): string {
  const what = decision === 'approve' ? 'Not approved' : 'Not denied';
  switch (error.code) {
    case 'forbidden':
      return `${what} — you cannot decide this request`;
    case 'conflict':
      return `${what} — it was already decided, or you already voted`;
    case 'not_found':
      return `${what} — the gateway no longer has this request`;
    case 'unavailable':
      return `${what} — the gateway could not record your vote; nothing was decided, try again`;
    case 'invalid_input':
      return `${what} — the gateway refused the input`;
    case 'unauthenticated':
      return `${what} — your sign-in has ended`;
    case 'internal':
      return `${what} — the gateway failed`;
  }
}

/** "30 min", "2 h", "1 h 30 min": how long a session grant lasts. */
export function grantWords(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 60) return `${Math.max(1, minutes)} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}
