import { base64url, decodeProtectedHeader } from 'jose';
import type { ChainedEvent, LedgerEntry } from './audit-chain-types.js';

// An exported audit bundle (`sluice export`, docs/audit-format.md "Bundles") as data, and reading
// one into typed records. Reading checks shapes only: whether the records are true is
// bundle-verify.ts's job. No Node APIs: the renderer opens bundles offline.

export const BUNDLE_FORMAT = 'sluice-bundle/1';
/** The manifest JWS `typ`, so a checkpoint (or any other EdDSA token) never passes as a manifest. */
export const BUNDLE_TYP = 'sluice-bundle+jws';
/** What `sluice export -o` files are named; `sluice verify FILE.sluice` recognises them by it. */
export const BUNDLE_EXTENSION = '.sluice';

/** Which sessions were exported; every field narrows the selection (all of them must hold). */
export interface BundleFilter {
  readonly sessions?: readonly string[];
  /** Sessions started at or after, ms since the epoch. */
  readonly since?: number;
  /** Sessions started before, ms since the epoch. */
  readonly until?: number;
  readonly resource?: string;
}

/** The signed first line's payload. */
export interface BundleManifest {
  readonly format: typeof BUNDLE_FORMAT;
  readonly kid: string;
  /** ms since the epoch. */
  readonly created: number;
  /** The signing key's one-line form (sluice-ed25519:…), for checking without a trusted key. */
  readonly gateway_key: string;
  /**
   * In a store several gateways share: the public key line of the gateway whose ledger,
   * checkpoints and retention records the bundle carries, when that is not the signer. Absent:
   * they are `gateway_key`'s (every SQLite export, and a gateway exporting its own sessions).
   */
  readonly ledger_key?: string;
  readonly filter: BundleFilter;
  /** True when a filter chose the sessions: the ledger then names sessions the bundle does not hold. */
  readonly partial: boolean;
  /** The exported session ids, in bundle order. */
  readonly sessions: readonly string[];
  readonly counts: { readonly sessions: number; readonly events: number; readonly ledger: number; readonly checkpoints: number };
  /** The last ledger entry included (n 0 and 64 zeros when the ledger is empty). */
  readonly ledger_head: { readonly n: number; readonly hash: string };
  /** sha256hex of the UTF-8 text after the first line's newline. */
  readonly body_sha256: string;
}

/** A session line: the store's session record, plus its seal (null while open). */
export interface BundleSessionRecord {
  readonly id: string;
  readonly resource: string;
  readonly protocol: string;
  readonly identity: { readonly subject: string; readonly issuer: string; readonly method: string; readonly groups: readonly string[] };
  readonly clientAddress: string;
  readonly application: string | null;
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly status: string;
  readonly counters: Readonly<Record<string, number>>;
  readonly final_hash: string | null;
}

/** One session with the events that follow its line. */
export interface BundleSession {
  readonly record: BundleSessionRecord;
  readonly events: readonly ChainedEvent[];
}

export interface BundleCheckpoint {
  readonly n: number;
  /** ms since the epoch. */
  readonly time: number;
  readonly ledger_n: number;
  readonly ledger_head: string;
  readonly kid: string;
  readonly jws: string;
}

/** A retention record: the sessions retention removed (canonical JSON, as signed) and its JWS. */
export interface BundlePrune {
  readonly n: number;
  /** ms since the epoch: sessions that ended before it were removed. */
  readonly horizon: number;
  /** canonical JSON of [{id, first, last}, …]: what the JWS's sessions_sha256 covers. */
  readonly sessions: string;
  readonly jws: string;
}

/** A bundle read but not verified: `manifest` is the first line's payload as written, unsigned. */
export interface ParsedBundle {
  readonly manifestJws: string;
  readonly manifest: BundleManifest;
  /** The text after the first line, which body_sha256 covers. */
  readonly body: string;
  readonly sessions: readonly BundleSession[];
  readonly ledger: readonly LedgerEntry[];
  readonly checkpoints: readonly BundleCheckpoint[];
  readonly prunes: readonly BundlePrune[];
}

/** A bundle that cannot be read, with where: the manifest (line 1) or a body line. */
export class BundleFormatError extends Error {
  constructor(
    message: string,
    readonly part: 'manifest' | 'body',
    readonly line: number,
  ) {
    super(message);
    this.name = 'BundleFormatError';
  }
}

/** Reads a bundle's text into its manifest (unverified) and records; throws BundleFormatError. */
export function parseBundle(text: string): ParsedBundle {
  const { manifestJws, body } = splitBundle(text);
  return { manifestJws, manifest: readManifestUnverified(manifestJws), body, ...parseBody(body) };
}

/** The first line (the manifest JWS) and everything after its newline. */
export function splitBundle(text: string): { manifestJws: string; body: string } {
  const end = text.indexOf('\n');
  const manifestJws = (end < 0 ? text : text.slice(0, end)).trim();
  if (manifestJws === '') throw new BundleFormatError('line 1: the bundle is empty or has no manifest; is this a file written by `sluice export`?', 'manifest', 1);
  return { manifestJws, body: end < 0 ? '' : text.slice(end + 1) };
}

/** The manifest as the JWS carries it, before any signature check: for showing, never for trusting. */
export function readManifestUnverified(jws: string): BundleManifest {
  let header;
  try {
    header = decodeProtectedHeader(jws);
  } catch {
    throw new BundleFormatError('line 1: the manifest is not a compact JWS; is this a file written by `sluice export`?', 'manifest', 1);
  }
  if (header.typ !== BUNDLE_TYP) throw new BundleFormatError(`line 1: the manifest's typ is ${JSON.stringify(header.typ)}, not "${BUNDLE_TYP}": this is not a Sluice bundle`, 'manifest', 1);
  const payload = jws.split('.')[1] ?? '';
  let bytes: Uint8Array;
  try {
    bytes = base64url.decode(payload);
  } catch {
    throw new BundleFormatError('line 1: the manifest payload is not base64url', 'manifest', 1);
  }
  return manifestFromPayload(bytes);
}

/** Checks a manifest payload's shape (JSON bytes); throws BundleFormatError naming the wrong fields. */
export function manifestFromPayload(bytes: Uint8Array): BundleManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new BundleFormatError('line 1: the manifest payload is not JSON', 'manifest', 1);
  }
  if (!isRecord(parsed)) throw new BundleFormatError('line 1: the manifest payload is not a JSON object', 'manifest', 1);
  const m = parsed;
  if (m.format !== BUNDLE_FORMAT) throw new BundleFormatError(`line 1: the manifest's format is ${JSON.stringify(m.format)}; this Sluice reads "${BUNDLE_FORMAT}"`, 'manifest', 1);
  const counts = isRecord(m.counts) ? m.counts : {};
  const head = isRecord(m.ledger_head) ? m.ledger_head : {};
  const wrong = [
    isText(m.kid) ? '' : 'kid',
    isCount(m.created) ? '' : 'created',
    isText(m.gateway_key) ? '' : 'gateway_key',
    m.ledger_key === undefined || isText(m.ledger_key) ? '' : 'ledger_key',
    isFilter(m.filter) ? '' : 'filter',
    typeof m.partial === 'boolean' ? '' : 'partial',
    Array.isArray(m.sessions) && m.sessions.every(isText) ? '' : 'sessions',
    ['sessions', 'events', 'ledger', 'checkpoints'].every((key) => isCount(counts[key])) ? '' : 'counts',
    isCount(head.n) && isHash(head.hash) ? '' : 'ledger_head',
    isHash(m.body_sha256) ? '' : 'body_sha256',
  ].filter(Boolean);
  if (wrong.length > 0) throw new BundleFormatError(`line 1: the manifest has missing or wrong ${wrong.join(', ')}`, 'manifest', 1);
  return m as unknown as BundleManifest;
}

/** The body's records, in the order the format fixes: sessions each followed by its events, the ledger, the checkpoints. */
export function parseBody(body: string): Pick<ParsedBundle, 'sessions' | 'ledger' | 'checkpoints' | 'prunes'> {
  const sessions: { record: BundleSessionRecord; events: ChainedEvent[] }[] = [];
  const ledger: LedgerEntry[] = [];
  const checkpoints: BundleCheckpoint[] = [];
  const prunes: BundlePrune[] = [];
  const SECTIONS = ['session', 'ledger', 'checkpoint', 'prune'];
  let section = 0;
  const lines = body.split('\n');
  // The last line ends with a newline, leaving one empty string; any other empty line is wrong.
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((text, index) => {
    const line = index + 2;
    const fail = (why: string): never => {
      throw new BundleFormatError(`line ${line}: ${why}`, 'body', line);
    };
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      fail('not a JSON value');
    }
    if (!isRecord(value)) return fail('not a JSON object');
    const { t, ...fields } = value;
    const at = t === 'event' ? 0 : SECTIONS.indexOf(String(t));
    if (at < 0) return fail(`unknown record type ${JSON.stringify(t)} (expected "session", "event", "ledger", "checkpoint" or "prune")`);
    if (at < section) return fail(`a ${String(t)} record after the ${SECTIONS[section]} records: the format puts sessions and their events first, then the ledger, then checkpoints, then retention records`);
    section = at;
    if (t === 'session') {
      if (!isSessionRecord(fields)) return fail('a session record needs id, resource, protocol, identity, clientAddress, application, startedAt, endedAt, status, counters and final_hash');
      sessions.push({ record: fields, events: [] });
    } else if (t === 'event') {
      if (!isEvent(fields)) return fail('an event record needs session_id, seq, time, kind, payload, prev_hash and hash');
      const owner = sessions.at(-1);
      if (!owner) return fail('an event before any session record');
      owner.events.push(fields);
    } else if (t === 'ledger') {
      if (!isLedgerEntry(fields)) return fail('a ledger record needs n, kind, session_id, hash, time, prev and entry_hash');
      ledger.push(fields);
    } else if (t === 'checkpoint') {
      if (!isCheckpoint(fields)) return fail('a checkpoint record needs n, time, ledger_n, ledger_head, kid and jws');
      checkpoints.push(fields);
    } else {
      if (!(typeof fields.n === 'number' && typeof fields.horizon === 'number' && typeof fields.sessions === 'string' && typeof fields.jws === 'string')) {
        return fail('a prune record needs n, horizon, sessions (JSON text) and jws');
      }
      prunes.push(fields as unknown as BundlePrune);
    }
  });
  return { sessions, ledger, checkpoints, prunes };
}

function isSessionRecord(v: Record<string, unknown>): v is Record<string, unknown> & BundleSessionRecord {
  return (
    isText(v.id) &&
    typeof v.resource === 'string' &&
    typeof v.protocol === 'string' &&
    isRecord(v.identity) &&
    typeof v.clientAddress === 'string' &&
    (v.application === null || typeof v.application === 'string') &&
    isCount(v.startedAt) &&
    (v.endedAt === null || isCount(v.endedAt)) &&
    typeof v.status === 'string' &&
    isRecord(v.counters) &&
    (v.final_hash === null || typeof v.final_hash === 'string')
  );
}

function isEvent(v: Record<string, unknown>): v is Record<string, unknown> & ChainedEvent {
  // seq is left loose: a wrong one is tampering, which verifySessionEvents words better.
  return typeof v.session_id === 'string' && typeof v.seq === 'number' && typeof v.time === 'number' && typeof v.kind === 'string' && 'payload' in v && typeof v.prev_hash === 'string' && typeof v.hash === 'string';
}

function isLedgerEntry(v: Record<string, unknown>): v is Record<string, unknown> & LedgerEntry {
  return typeof v.n === 'number' && typeof v.kind === 'string' && typeof v.session_id === 'string' && typeof v.hash === 'string' && typeof v.time === 'number' && typeof v.prev === 'string' && typeof v.entry_hash === 'string';
}

function isCheckpoint(v: Record<string, unknown>): v is Record<string, unknown> & BundleCheckpoint {
  return typeof v.n === 'number' && typeof v.time === 'number' && typeof v.ledger_n === 'number' && typeof v.ledger_head === 'string' && typeof v.kid === 'string' && typeof v.jws === 'string';
}

function isFilter(value: unknown): boolean {
  if (!isRecord(value)) return false;
  const { sessions, since, until, resource } = value;
  return (sessions === undefined || (Array.isArray(sessions) && sessions.every(isText))) && (since === undefined || isCount(since)) && (until === undefined || isCount(until)) && (resource === undefined || isText(resource));
}

function isText(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isHash(value: unknown): value is string {
  return typeof value === 'string' && /^[0-9a-f]{64}$/.test(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
