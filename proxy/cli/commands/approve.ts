import { API_CLIENT_DETAILS, API_CLIENT_OPTIONS, callApi, resolveApiTarget } from '../api-client.js';
import { readCredential } from '../credential.js';
import { stringOption, type Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../io.js';
import { decisionLine } from './approvals-format.js';

export const approveCommand: Command = {
  words: ['approve'],
  summary: 'approve a held request (your vote counts toward the quorum)',
  usage: 'ID [--reason R] [--session] [--api URL] [--config FILE] [--token-file FILE] [--ca FILE]',
  details: [
    'Needs the approvers role; you cannot approve your own request unless',
    'approvals.self_approval is on. --session approves this statement shape for the rest of',
    "the requester's session, for as long as the rule's session_grant allows.",
    'Prints whether the request is now approved or still waits for more approvers.',
    ...API_CLIENT_DETAILS,
  ],
  options: { ...API_CLIENT_OPTIONS, reason: { type: 'string', short: 'r' }, session: { type: 'boolean' } },
  maxPositionals: 1,
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new UsageError('sluice approve: which approval?', "pass its ID (from 'sluice approvals')");
    const reason = stringOption(args, 'reason')?.trim();
    const credential = await readCredential(stringOption(args, 'token-file'), io);
    const target = await resolveApiTarget(args, io);
    if (!target) return EXIT_FAILED;
    const approval = await callApi(target, credential, 'approvals.decide', {
      id,
      decision: 'approve',
      scope: args.values.session === true ? 'session' : 'once',
      ...(reason ? { reason } : {}),
    });
    io.stdout(decisionLine(approval, Date.now()));
    return EXIT_OK;
  },
};
