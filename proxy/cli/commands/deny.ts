import { API_CLIENT_DETAILS, API_CLIENT_OPTIONS, callApi, resolveApiTarget } from '../api-client.js';
import { readCredential } from '../credential.js';
import { stringOption, type Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../io.js';
import { decisionLine } from './approvals-format.js';

export const denyCommand: Command = {
  words: ['deny'],
  summary: 'deny a held request, saying why (the requester sees the reason)',
  usage: 'ID --reason R [--api URL] [--config FILE] [--token-file FILE] [--ca FILE]',
  details: ['Needs the approvers role. One deny ends the request, whatever the quorum.', ...API_CLIENT_DETAILS],
  options: { ...API_CLIENT_OPTIONS, reason: { type: 'string', short: 'r' } },
  maxPositionals: 1,
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new UsageError('sluice deny: which approval?', "pass its ID (from 'sluice approvals')");
    const reason = stringOption(args, 'reason')?.trim();
    if (!reason) throw new UsageError('sluice deny: --reason is required', 'say why, so the requester knows what to change: --reason "..."');
    const credential = await readCredential(stringOption(args, 'token-file'), io);
    const target = await resolveApiTarget(args, io);
    if (!target) return EXIT_FAILED;
    const approval = await callApi(target, credential, 'approvals.decide', { id, decision: 'deny', reason });
    io.stdout(decisionLine(approval, Date.now()));
    return EXIT_OK;
  },
};
