import type { Approval } from '../../api/api-contract.js';
import { printable } from '../../common/printable.js';
import { formatDuration, formatTimestamp } from './sessions-format.js';

// Text rendering for `sluice approvals`, `approve` and `deny`. Statements and subjects come from
// callers, so everything passes through `printable` before it reaches a terminal.

const STATEMENT_CHARS = 60;
const REQUESTER_CHARS = 32;

export function approvalTable(approvals: readonly Approval[], now: number, withStatus: boolean): string {
  const header = ['ID', 'AGE', 'RESOURCE', 'REQUESTER', 'STATEMENT', 'RULE', 'VOTES', ...(withStatus ? ['STATUS'] : []), 'EXPIRES'];
  const rows = approvals.map((approval) => [
    approval.id,
    roughDuration(now - approval.requestedAt),
    printable(approval.resource),
    excerpt(requesterName(approval), REQUESTER_CHARS),
    excerpt(approval.statement, STATEMENT_CHARS),
    printable(approval.rule),
    `${approveVotes(approval)}/${approval.quorum}`,
    ...(withStatus ? [approval.status] : []),
    approval.status === 'pending' ? (approval.expiresAt > now ? `in ${roughDuration(approval.expiresAt - now)}` : 'now') : '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** One line saying where an approval stands after the caller's vote. */
export function decisionLine(approval: Approval, now: number): string {
  const subject = `approval ${approval.id} (${excerpt(approval.statement, 40)} on ${printable(approval.resource)})`;
  switch (approval.status) {
    case 'approved': {
      const grant = approval.grantedUntil === undefined ? '' : `; granted for the session until ${formatTimestamp(approval.grantedUntil)}`;
      return `approved: ${subject}${grant}\n`;
    }
    case 'denied':
      return `denied: ${subject}: ${printable(approval.reason ?? '')}\n`;
    case 'pending': {
      const votes = approveVotes(approval);
      const left = approval.quorum - votes;
      return `vote recorded: ${subject} has ${votes} of ${approval.quorum} approvals; it waits for ${left} more (expires in ${roughDuration(approval.expiresAt - now)})\n`;
    }
    default:
      return `${approval.status}: ${subject}${approval.reason ? `: ${printable(approval.reason)}` : ''}\n`;
  }
}

/** Whole seconds, then sessions-format's units: ages and deadlines need no milliseconds. */
function roughDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  return seconds < 60 ? `${seconds}s` : formatDuration(seconds * 1000);
}

function approveVotes(approval: Approval): number {
  return approval.votes.filter((vote) => vote.decision === 'approve').length;
}

function requesterName(approval: Approval): string {
  const { subject, claims } = approval.requester;
  // A CI job's subject is long and says little; the repository says who asks.
  return typeof claims.repository === 'string' && claims.repository !== '' ? `${subject} (${claims.repository})` : subject;
}

/** Whitespace collapsed, control characters escaped, cut to `max` characters. */
function excerpt(text: string, max: number): string {
  const flat = printable(text.replace(/\s+/g, ' ').trim());
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
