import { access, open } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import type { AuditReader, GatewayRecord } from '../../audit/audit-types.js';
import { exportBundle, nothingMatches, sessionMatches } from '../../audit/bundle-export.js';
import { loadBundleSigner, type BundleSigner } from '../../audit/bundle-signer.js';
import { readManifestUnverified, type BundleFilter } from '../../common/bundle-format.js';
import { stringOption, type Command, type ParsedArgs } from '../command.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../io.js';
import { exportAsciicast } from './export-asciicast.js';
import { withReader } from './sessions.js';

// `sluice export` writes a signed bundle of recorded sessions that `sluice verify FILE.sluice`
// (or the desktop app) checks offline, without the store or the gateway. A bundle carries one
// gateway's ledger, so sessions recorded by several gateways of a shared store (PostgreSQL) go
// to one bundle per gateway.

/** How many characters of a gateway's key id name its bundle (`out-<kid>.sluice`). */
const FILE_KID_CHARS = 8;

/** One bundle to write: whose ledger, which sessions, where. */
interface PlannedBundle {
  /** The recording gateway in a shared store; undefined for a SQLite store. */
  readonly gateway?: GatewayRecord;
  readonly filter: BundleFilter;
  readonly path: string;
}

export const exportCommand: Command = {
  words: ['export'],
  summary: 'write recorded sessions, the ledger and checkpoints to a signed bundle for offline verification',
  usage: '[--config FILE] [--session ID ...] [--since T] [--until T] [--resource NAME] [--gateway KID] -o FILE.sluice [--force] | --asciicast SESSION [-o FILE.cast]',
  details: [
    'Reads the audit store of the config (--config, else $SLUICE_CONFIG, else ./sluice.yaml),',
    'also while `sluice serve` writes it, and writes the chosen sessions with their events, the',
    "whole ledger and every checkpoint, signed with the gateway's key (data_dir/signing-key.pem).",
    'Without filters every session is exported; --session (repeatable), --since, --until (T: an',
    'ISO date/time or ms since the epoch; sessions started at or after --since and before',
    '--until) and --resource narrow it. An existing FILE is kept unless --force.',
    'A store several gateways share (audit.store: postgres://…): a bundle carries the ledger of',
    'the gateway that recorded its sessions, signed with this gateway\'s key. Sessions of several',
    'gateways go to one bundle each, FILE-<first 8 characters of the gateway\'s key id>.sluice;',
    '--gateway KID (or a prefix of it, from `sluice verify`) exports one gateway\'s only.',
    "Check it with 'sluice verify FILE.sluice --key KEY' (the key from 'sluice key show').",
    '--asciicast SESSION writes one terminal session (sluice exec, sluice run) as an asciicast v2',
    'file (asciinema play FILE.cast), to -o FILE or to stdout; its output as recorded (masked).',
  ],
  options: {
    config: { type: 'string', short: 'c' },
    session: { type: 'string', multiple: true },
    since: { type: 'string' },
    until: { type: 'string' },
    resource: { type: 'string' },
    gateway: { type: 'string' },
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
    asciicast: { type: 'string' },
  },
  async run(args, io) {
    const output = stringOption(args, 'output');
    const cast = stringOption(args, 'asciicast');
    if (cast !== undefined) {
      const mixed = ['session', 'since', 'until', 'resource', 'gateway'].find((name) => args.values[name] !== undefined);
      if (mixed) throw new UsageError(`sluice export: --asciicast exports one session; --${mixed} is for bundles`, 'drop one of them');
      return exportAsciicast(args, io, cast, output, args.values.force === true);
    }
    if (!output) throw new UsageError('sluice export: where to? -o FILE.sluice is required', 'pass e.g. -o audit.sluice');
    const filter = parseFilter(args);
    const path = resolve(io.cwd, output);
    const gateway = stringOption(args, 'gateway');
    const force = args.values.force === true;
    return withReader(args, io, async (reader, dataDir) => {
      const signer = await loadBundleSigner(dataDir);
      const texts: string[] = [];
      let plan: PlannedBundle[];
      try {
        plan = await planBundles(reader, signer, filter, gateway, path);
        // Every bundle is made before any is written: a failure leaves no half of a set behind.
        for (const bundle of plan) texts.push(await exportBundle(reader, signer, bundle.filter, { gateway: bundle.gateway?.id }));
      } catch (error) {
        io.stderr(`sluice export: ${(error as Error).message}\n`);
        return EXIT_FAILED;
      }
      if (!force) {
        for (const { path: target } of plan) {
          if (await exists(target)) {
            io.stderr(`sluice export: ${target} exists; choose another -o, or pass --force to replace it\n`);
            return EXIT_FAILED;
          }
        }
      }
      if (plan.length > 1) io.stdout(`the sessions chosen were recorded by ${plan.length} gateways, and a bundle carries one gateway's ledger: writing one bundle per gateway\n`);
      for (const [index, bundle] of plan.entries()) {
        const text = texts[index]!;
        if (!(await writeBundle(bundle.path, text, force))) {
          io.stderr(`sluice export: ${bundle.path} exists; choose another -o, or pass --force to replace it\n`);
          return EXIT_FAILED;
        }
        const { counts, partial } = readManifestUnverified(text.slice(0, text.indexOf('\n')));
        const bytes = Buffer.byteLength(text);
        const of = bundle.gateway ? ` (gateway ${bundle.gateway.id}, ${bundle.gateway.name})` : '';
        io.stdout(`wrote ${bundle.path}${of}: ${counts.sessions} sessions${partial ? ' (filtered)' : ''}, ${counts.events} events, ${counts.ledger} ledger entries, ${counts.checkpoints} checkpoints, ${bytes} bytes\n`);
      }
      return EXIT_OK;
    });
  },
};

/**
 * The bundles to write: one for a SQLite store, or for the one gateway whose sessions were
 * chosen; one per gateway, each at `path` with the gateway's key id before the extension, when
 * the sessions chosen were recorded by several.
 */
async function planBundles(reader: AuditReader, signer: BundleSigner, filter: BundleFilter, gateway: string | undefined, path: string): Promise<PlannedBundle[]> {
  if (!reader.gateways) {
    if (gateway !== undefined && !signer.kid.startsWith(gateway)) throw new Error(`--gateway ${gateway}: ${reader.file} is the store of one gateway, ${signer.kid}`);
    return [{ filter, path }];
  }
  const gateways = await reader.gateways();
  const only = gateway === undefined ? undefined : gatewayNamed(gateways, gateway, reader.file);
  const sessions = await reader.listSessions({ limit: Number.MAX_SAFE_INTEGER });
  const chosen = sessions.filter((session) => sessionMatches(session, filter) && (only === undefined || session.gateway === only.id));
  for (const id of filter.sessions ?? []) {
    const session = sessions.find((known) => known.id === id);
    if (!session) throw new Error(`no session ${id} in ${reader.file}; list them with 'sluice sessions'`);
    if (only && session.gateway !== only.id) throw new Error(`session ${id} was recorded by gateway ${session.gateway ?? '(none)'}, not ${only.id}: drop --gateway, or that --session`);
  }
  const recording = gateways.filter((known) => known === only || (only === undefined && chosen.some((session) => session.gateway === known.id)));
  if (chosen.length === 0 || recording.length === 0) throw new Error(nothingMatches(reader.file, filter, only?.id));
  const names = fileKids(recording.map((known) => known.id));
  return recording.map((known, index) => {
    // Each bundle's filter names only its own sessions: the manifest says what the bundle chose.
    const own = filter.sessions?.filter((id) => chosen.some((session) => session.id === id && session.gateway === known.id));
    const narrowed: BundleFilter = own === undefined ? filter : { ...filter, sessions: own };
    return { gateway: known, filter: narrowed, path: recording.length === 1 ? path : withKid(path, names[index]!) };
  });
}

/** The gateway a --gateway value names: its key id, or a prefix of exactly one. */
function gatewayNamed(gateways: readonly GatewayRecord[], given: string, file: string): GatewayRecord {
  const exact = gateways.find((known) => known.id === given);
  if (exact) return exact;
  const prefixed = gateways.filter((known) => known.id.startsWith(given));
  if (prefixed.length === 1) return prefixed[0]!;
  const listed = gateways.map((known) => `${known.id} (${known.name})`).join(', ') || 'none yet';
  throw new Error(`--gateway ${given} names ${prefixed.length === 0 ? 'no gateway' : `${prefixed.length} gateways`} of ${file}; its gateways: ${listed}`);
}

/** The first 8 characters of each key id, longer where two would share them. */
function fileKids(kids: readonly string[]): string[] {
  return kids.map((kid) => {
    let length = FILE_KID_CHARS;
    while (length < kid.length && kids.some((other) => other !== kid && other.startsWith(kid.slice(0, length)))) length++;
    return kid.slice(0, length);
  });
}

/** out.sluice and KID: out-KID.sluice. */
function withKid(path: string, kid: string): string {
  const extension = extname(path);
  return `${path.slice(0, path.length - extension.length)}-${kid}${extension}`;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Writes and syncs a bundle; false when the file exists and `force` is off. */
async function writeBundle(path: string, text: string, force: boolean): Promise<boolean> {
  // wx: an earlier bundle may be the only copy an auditor has; replace it only when asked.
  let file;
  try {
    file = await open(path, force ? 'w' : 'wx', 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  return true;
}

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
