import type { ApprovalStatus } from '../../api/api-contract.js';
import { API_CLIENT_DETAILS, API_CLIENT_OPTIONS, callApi, resolveApiTarget } from '../api-client.js';
import { readCredential } from '../credential.js';
import { stringOption, type Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../io.js';
import { approvalTable } from './approvals-format.js';

const STATUSES: readonly (ApprovalStatus | 'all')[] = ['pending', 'approved', 'denied', 'expired', 'cancelled', 'all'];

export const approvalsCommand: Command = {
  words: ['approvals'],
  summary: "list approval requests from a running gateway's API (pending ones by default)",
  usage: '[--status pending|approved|denied|expired|cancelled|all] [--limit N] [--json] [--api URL] [--config FILE] [--token-file FILE] [--ca FILE]',
  details: [
    'Needs the approvers role. Newest first; --limit defaults to 100. --json prints the',
    'approvals in full (times in ms since the epoch). Decide with `sluice approve ID` or',
    '`sluice deny ID --reason R`.',
    ...API_CLIENT_DETAILS,
  ],
  options: { ...API_CLIENT_OPTIONS, status: { type: 'string' }, limit: { type: 'string', short: 'n' }, json: { type: 'boolean' } },
  async run(args, io) {
    const status = parseStatus(stringOption(args, 'status') ?? 'pending');
    const limit = parseLimit(stringOption(args, 'limit'));
    const credential = await readCredential(stringOption(args, 'token-file'), io);
    const target = await resolveApiTarget(args, io);
    if (!target) return EXIT_FAILED;
    const approvals = await callApi(target, credential, 'approvals.list', {
      ...(status !== 'all' && { status }),
      ...(limit !== undefined && { limit }),
    });
    if (args.values.json === true) io.stdout(`${JSON.stringify(approvals, null, 2)}\n`);
    else if (approvals.length === 0) io.stdout(status === 'all' ? 'no approvals\n' : `no ${status} approvals\n`);
    else io.stdout(approvalTable(approvals, Date.now(), status !== 'pending'));
    return EXIT_OK;
  },
};

function parseStatus(text: string): ApprovalStatus | 'all' {
  const status = STATUSES.find((known) => known === text);
  if (!status) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, not "${text}"`, "run 'sluice approvals --help'");
  return status;
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 1000) throw new UsageError(`--limit must be a whole number from 1 to 1000, not "${text}"`, 'pass e.g. --limit 20');
  return Number(text);
}
