import { AuditStoreMissingError, openAuditReader, type AuditReader } from '../../audit/audit-store.js';
import { openPostgresAuditReader } from '../../audit/postgres/postgres-store.js';
import { Secret } from '../../config/secret.js';
import { SESSION_STATUSES, type SessionStatus } from '../../audit/audit-types.js';
import { stringOption, type Command, type ParsedArgs } from '../command.js';
import { configPath, loadConfigOrReport } from '../config-file.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIo } from '../io.js';
import { eventLines, sessionHeader, sessionTable } from './sessions-format.js';

// `sluice sessions` reads the audit store read-only, so it works while `sluice serve` is
// writing it (WAL) and never changes it.

export const sessionsCommand: Command = {
  words: ['sessions'],
  summary: 'list recorded sessions, newest first',
  usage: '[--config FILE] [--limit N] [--resource NAME] [--status open|closed|aborted] [--json]',
  details: [
    'Reads data_dir/audit.sqlite of the config (--config, else $SLUICE_CONFIG, else',
    './sluice.yaml); works while `sluice serve` is running. Secrets in the config are',
    'not needed. --limit defaults to 50. DURATION ends with + for sessions still open.',
    '--json prints the sessions as a JSON array (times in ms since the epoch).',
    "See one session's events with 'sluice sessions show ID'.",
  ],
  options: {
    config: { type: 'string', short: 'c' },
    limit: { type: 'string', short: 'n' },
    resource: { type: 'string' },
    status: { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const limit = parseLimit(stringOption(args, 'limit'));
    const status = parseStatus(stringOption(args, 'status'));
    return withReader(args, io, async (reader) => {
      const sessions = await reader.listSessions({ limit, resource: stringOption(args, 'resource'), status });
      if (args.values.json === true) io.stdout(`${JSON.stringify(sessions, null, 2)}\n`);
      else if (sessions.length === 0) io.stdout(`no sessions recorded in ${reader.file}${args.values.resource || status ? ' that match' : ''}\n`);
      else io.stdout(sessionTable(sessions, Date.now()));
      return EXIT_OK;
    });
  },
};

export const sessionsShowCommand: Command = {
  words: ['sessions', 'show'],
  summary: 'print one recorded session: its header and every event',
  usage: 'ID [--config FILE] [--json]',
  details: [
    'ID is a session id from `sluice sessions`. Each event prints as one line: seq, time,',
    'kind and a compact rendering (statements with their outcome, parameters, rows and',
    'duration). Control characters in recorded text print as escapes (\\x1b).',
    '--json prints {"session": …, "events": […]} with every payload in full (times: the',
    'session in ms, events in µs since the epoch).',
  ],
  options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
  maxPositionals: 1,
  async run(args, io) {
    const id = args.positionals[0];
    if (!id) throw new UsageError('sluice sessions show: which session?', "pass its ID (from 'sluice sessions')");
    return withReader(args, io, async (reader) => {
      const session = await reader.getSession(id);
      if (!session) {
        io.stderr(`sluice sessions show: no session ${JSON.stringify(id)} in ${reader.file}; list them with 'sluice sessions'\n`);
        return EXIT_FAILED;
      }
      const events = await reader.listEvents(id);
      if (args.values.json === true) io.stdout(`${JSON.stringify({ session, events }, null, 2)}\n`);
      else io.stdout(`${sessionHeader(session, Date.now())}\n${eventLines(events)}`);
      return EXIT_OK;
    });
  },
};

/** Runs `use` with a read-only store of the config's data_dir, or reports why there is none. */
export async function withReader(args: ParsedArgs, io: CliIo, use: (reader: AuditReader, dataDir: string) => Promise<number>): Promise<number> {
  const file = configPath(args, io);
  // Only data_dir, or a shared store's URL, is needed: resource secrets may be absent where auditors read the store.
  const loaded = await loadConfigOrReport(file, io, { resolveSecrets: (path) => path[0] === 'audit' && path[1] === 'store' });
  if (!loaded) return EXIT_FAILED;
  const { store } = loaded.config.audit;
  let reader: AuditReader;
  try {
    reader = store === 'sqlite' ? await openAuditReader(loaded.config.data_dir) : await openPostgresAuditReader(store instanceof Secret ? store.reveal() : store);
  } catch (error) {
    if (error instanceof AuditStoreMissingError) {
      io.stderr(`sluice: no audit store at ${error.file}; has \`sluice serve\` run with this config?\n`);
      return EXIT_FAILED;
    }
    throw error;
  }
  try {
    return await use(reader, loaded.config.data_dir);
  } finally {
    await reader.close();
  }
}

function parseLimit(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new UsageError(`--limit must be a whole number of sessions, not "${text}"`, 'pass e.g. --limit 20');
  return Number(text);
}

function parseStatus(text: string | undefined): SessionStatus | undefined {
  if (text === undefined) return undefined;
  const status = SESSION_STATUSES.find((known) => known === text);
  if (!status) throw new UsageError(`--status must be one of ${SESSION_STATUSES.join(', ')}, not "${text}"`, "run 'sluice sessions --help'");
  return status;
}
