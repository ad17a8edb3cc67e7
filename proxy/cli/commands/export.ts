import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { exportBundle } from '../../audit/bundle-export.js';
import { loadBundleSigner } from '../../audit/bundle-signer.js';
import { readManifestUnverified, type BundleFilter } from '../../common/bundle-format.js';
import { stringOption, type Command, type ParsedArgs } from '../command.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../io.js';
import { withReader } from './sessions.js';

// `sluice export` writes a signed bundle of recorded sessions that `sluice verify FILE.sluice`
// (or the desktop app) checks offline, without the store or the gateway.

export const exportCommand: Command = {
  words: ['export'],
  summary: 'write recorded sessions, the ledger and checkpoints to a signed bundle for offline verification',
  usage: '[--config FILE] [--session ID ...] [--since T] [--until T] [--resource NAME] -o FILE.sluice [--force]',
  details: [
    'Reads the audit store of the config (--config, else $SLUICE_CONFIG, else ./sluice.yaml),',
    'also while `sluice serve` writes it, and writes the chosen sessions with their events, the',
    "whole ledger and every checkpoint, signed with the gateway's key (data_dir/signing-key.pem).",
    'Without filters every session is exported; --session (repeatable), --since, --until (T: an',
    'ISO date/time or ms since the epoch; sessions started at or after --since and before',
    '--until) and --resource narrow it. An existing FILE is kept unless --force.',
    "Check it with 'sluice verify FILE.sluice --key KEY' (the key from 'sluice key show').",
  ],
  options: {
    config: { type: 'string', short: 'c' },
    session: { type: 'string', multiple: true },
    since: { type: 'string' },
    until: { type: 'string' },
    resource: { type: 'string' },
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
  },
  async run(args, io) {
    const output = stringOption(args, 'output');
    if (!output) throw new UsageError('sluice export: where to? -o FILE.sluice is required', 'pass e.g. -o audit.sluice');
    const filter = parseFilter(args);
    const path = resolve(io.cwd, output);
    return withReader(args, io, async (reader, dataDir) => {
      const signer = await loadBundleSigner(dataDir);
      let text: string;
      try {
        text = await exportBundle(reader, signer, filter);
      } catch (error) {
        io.stderr(`sluice export: ${(error as Error).message}\n`);
        return EXIT_FAILED;
      }
      // wx: an earlier bundle may be the only copy an auditor has; replace it only when asked.
      let file;
      try {
        file = await open(path, args.values.force === true ? 'w' : 'wx', 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        io.stderr(`sluice export: ${path} exists; choose another -o, or pass --force to replace it\n`);
        return EXIT_FAILED;
      }
      try {
        await file.writeFile(text);
        await file.sync();
      } finally {
        await file.close();
      }
      const { counts, partial } = readManifestUnverified(text.slice(0, text.indexOf('\n')));
      const bytes = Buffer.byteLength(text);
      io.stdout(`wrote ${path}: ${counts.sessions} sessions${partial ? ' (filtered)' : ''}, ${counts.events} events, ${counts.ledger} ledger entries, ${counts.checkpoints} checkpoints, ${bytes} bytes\n`);
      return EXIT_OK;
    });
  },
};

function parseFilter(args: ParsedArgs): BundleFilter {
  const sessions = args.values.session;
  const since = parseTime(stringOption(args, 'since'), '--since');
  const until = parseTime(stringOption(args, 'until'), '--until');
  if (since !== undefined && until !== undefined && until <= since) {
    throw new UsageError(`sluice export: --until (${new Date(until).toISOString()}) is not after --since (${new Date(since).toISOString()})`, 'swap them or widen the range');
  }
  return {
    ...(Array.isArray(sessions) && sessions.length > 0 ? { sessions: sessions.map(String) } : {}),
    ...(since !== undefined ? { since } : {}),
    ...(until !== undefined ? { until } : {}),
    ...(stringOption(args, 'resource') !== undefined ? { resource: stringOption(args, 'resource') } : {}),
  };
}

/** ms since the epoch from digits, or an ISO date (2025-01-31) or date-time (2025-01-31T09:00Z). */
function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const at = /^\d+$/.test(text) ? Number(text) : /^\d{4}-\d{2}-\d{2}([T ]|$)/.test(text) ? Date.parse(text) : NaN;
  if (!Number.isSafeInteger(at) || at < 0) throw new UsageError(`sluice export: ${name} "${text}" is not a time`, 'pass an ISO date/time (2025-01-31T09:00:00Z) or ms since the epoch');
  return at;
}
