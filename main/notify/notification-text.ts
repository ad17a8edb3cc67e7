import type { InboxApproval } from '../ipc/bridge-types.js';

// What a native notification says about an approval request: the title names the operation and
// the resource, the body the caller and a statement excerpt. The statement is the text approvers
// already see (content detectors applied by the gateway), cut short.

export const EXCERPT_LENGTH = 120;

/** "DELETE", "WITH", an HTTP request line's method and path; "Statement" when there is no word to show. */
export function operationOf(approval: Pick<InboxApproval, 'statement' | 'protocol'>): string {
  const text = approval.statement.replace(/^(?:\s+|--[^\n]*\n?|\/\*[\s\S]*?\*\/|\()+/, '');
  if (approval.protocol === 'http') {
    const line = /^([A-Z]+) (\S{1,60})/.exec(text);
    if (line) return `${line[1]} ${line[2]}`;
  }
  const word = /^[A-Za-z_]+/.exec(text);
  return word ? word[0].toUpperCase() : 'Statement';
}

export function excerpt(statement: string, max = EXCERPT_LENGTH): string {
  const flat = statement.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export interface NotificationText {
  readonly title: string;
  readonly body: string;
}

export function requestText(approval: InboxApproval): NotificationText {
  const where = approval.origin && approval.origin !== 'This computer' ? ` (${approval.origin})` : '';
  return {
    title: `Approval needed: ${operationOf(approval)} on ${approval.resource}${where}`,
    body: `${approval.requester.subject}: ${excerpt(approval.statement)}`,
  };
}

/** One notification for a burst: how many, and the first few by operation and resource. */
export function groupText(approvals: readonly InboxApproval[]): NotificationText {
  const shown = approvals.slice(0, 3).map((approval) => `${operationOf(approval)} on ${approval.resource} by ${approval.requester.subject}`);
  const more = approvals.length - shown.length;
  return {
    title: `${approvals.length} more approval requests`,
    body: shown.join('\n') + (more > 0 ? `\n…and ${more} more` : ''),
  };
}
