import { GENESIS_HASH, type ChainedEvent, type ChainProblem, type CheckpointClaims, type LedgerEntry, type PrunedSession } from './audit-chain-types.js';
import { eventHash, ledgerEntryHash, sha256Hex } from './chain-hash.js';
import { verifyCheckpoint, verifyPrune, type Ed25519PublicJwk } from './checkpoint-verify.js';

// Checking the audit chains as read back from a store or a bundle: `sluice verify` and the
// renderer use the same code. Each check names the first thing wrong and where, in words an
// auditor can act on. No Node APIs (isomorphic).

/** What the ledger check needs to know about each stored session. */
export interface StoredSessionEnds {
  /** Hash of its first event; absent when it has none. */
  readonly first?: string;
  /** Hash of its last event; absent when it has none. */
  readonly last?: string;
  readonly ended: boolean;
}

/** How verifyLedger reads the sessions it is given; the defaults are a whole store's. */
export interface LedgerCheckOptions {
  /**
   * The sessions given are a chosen few (a partial bundle): entries of the others are checked as
   * links of the chain only, not reported missing.
   */
  readonly partial?: boolean;
  /** What holds the sessions, in messages: "store" (the default) or "bundle". */
  readonly holder?: string;
}

/** How an event is hashed: WebCrypto by default; Node callers may pass a synchronous digest (several times faster). */
export type EventHasher = (prevHash: string, event: ChainedEvent) => Promise<string>;

/** Digests started together: WebCrypto is asynchronous, so one at a time would wait on each. */
const HASH_BATCH = 256;

/**
 * The first problem in one session's events, given in stored order, or undefined when the chain
 * holds. An empty list passes here: the ledger's start entry is what notices a session emptied.
 */
export async function verifySessionEvents(sessionId: string, events: readonly ChainedEvent[], hashEvent: EventHasher = eventHash): Promise<ChainProblem | undefined> {
  const seqs = events.map((event) => event.seq);
  for (let start = 0; start < events.length; start += HASH_BATCH) {
    const batch = events.slice(start, start + HASH_BATCH);
    // Stored prev_hash is hashed as is: where it is wrong, the link check below speaks first.
    const hashes = await Promise.all(batch.map((event) => settle(hashEvent(event.prev_hash, event))));
    for (let i = 0; i < batch.length; i++) {
      const index = start + i;
      const event = batch[i] as ChainedEvent;
      const at = { session_id: sessionId, seq: event.seq };
      const order = sequenceProblem(seqs, index, ['event', 'events'], 'seq');
      if (order) return { ...at, seq: order.number, message: order.message };
      if (event.session_id !== sessionId) {
        return { ...at, message: `event ${event.seq} belongs to session ${event.session_id}, not ${sessionId} (it was moved between sessions)` };
      }
      const previous = index === 0 ? GENESIS_HASH : (events[index - 1] as ChainedEvent).hash;
      if (event.prev_hash !== previous) {
        const before = index === 0 ? 'the chain start (GENESIS_HASH)' : `event ${event.seq - 1}'s hash`;
        return { ...at, message: `event ${event.seq}: prev_hash does not match ${before} (an event before it was removed, reordered or changed)` };
      }
      const hash = hashes[i] as Settled;
      if (hash instanceof Error) return { ...at, message: `event ${event.seq} (${event.kind}) cannot be hashed: ${hash.message}` };
      if (event.hash !== hash) {
        return { ...at, message: `event ${event.seq} (${event.kind}) was changed after it was recorded: its hash does not match its content` };
      }
    }
  }
  return undefined;
}

/**
 * The first problem in the ledger (entries in stored order) or in how it and the store agree,
 * or undefined. Problems at an entry carry its ledger_n; a session the ledger never mentions
 * has no entry to point at, so only its session_id is set.
 */
export async function verifyLedger(entries: readonly LedgerEntry[], sessions: ReadonlyMap<string, StoredSessionEnds>, options: LedgerCheckOptions = {}): Promise<ChainProblem | undefined> {
  const holder = options.holder ?? 'store';
  const started = new Map<string, number>();
  const sealed = new Map<string, number>();
  const ns = entries.map((entry) => entry.n);
  for (let start = 0; start < entries.length; start += HASH_BATCH) {
    const batch = entries.slice(start, start + HASH_BATCH);
    const hashes = await Promise.all(batch.map((entry) => settle(ledgerEntryHash(entry.prev, entry))));
    for (let i = 0; i < batch.length; i++) {
      const index = start + i;
      const entry = batch[i] as LedgerEntry;
      const at = { ledger_n: entry.n, session_id: entry.session_id };
      const order = sequenceProblem(ns, index, ['ledger entry', 'ledger entries'], 'n');
      if (order) return { ledger_n: order.number, message: order.message };
      const previous = index === 0 ? GENESIS_HASH : (entries[index - 1] as LedgerEntry).entry_hash;
      if (entry.prev !== previous) {
        const before = index === 0 ? 'the chain start (GENESIS_HASH)' : `entry ${entry.n - 1}'s entry_hash`;
        return { ...at, message: `ledger entry ${entry.n}: prev does not match ${before} (an entry before it was removed, reordered or changed)` };
      }
      const hash = hashes[i] as Settled;
      if (hash instanceof Error) return { ...at, message: `ledger entry ${entry.n} cannot be hashed: ${hash.message}` };
      if (entry.entry_hash !== hash) {
        return { ...at, message: `ledger entry ${entry.n} (${entry.kind} of session ${entry.session_id}) was changed after it was recorded: its entry_hash does not match its content` };
      }
      const session = sessions.get(entry.session_id);
      if (!session && options.partial) continue;
      const message = sessionEntryProblem(entry, session, started, sealed, holder);
      if (message) return { ...at, message };
    }
  }
  for (const [sessionId, session] of sessions) {
    if (!started.has(sessionId)) return { session_id: sessionId, message: `session ${sessionId} is in the ${holder} but not in the ledger (inserted outside the gateway)` };
    if (session.ended && !sealed.has(sessionId)) {
      return { session_id: sessionId, message: `session ${sessionId} ended but the ledger has no seal for it (its end was written outside the gateway, or the seal was removed)` };
    }
  }
  return undefined;
}

/** The ledger as it stands, in the form a checkpoint signs; GENESIS_HASH at n 0 when empty. */
export function chainHead(entries: readonly LedgerEntry[]): Pick<CheckpointClaims, 'ledger_n' | 'ledger_head'> {
  const last = entries.at(-1);
  return last ? { ledger_n: last.n, ledger_head: last.entry_hash } : { ledger_n: 0, ledger_head: GENESIS_HASH };
}

/** Checks a start or seal entry against the store, recording it in `started`/`sealed` (n by session). */
function sessionEntryProblem(entry: LedgerEntry, session: StoredSessionEnds | undefined, started: Map<string, number>, sealed: Map<string, number>, holder: string): string | undefined {
  const id = entry.session_id;
  if (!session) return `the ledger records session ${id}, which is missing from the ${holder} (deleted)`;
  switch (entry.kind) {
    case 'start': {
      const earlier = started.get(id);
      if (earlier !== undefined) return `session ${id} is started twice in the ledger (entries ${earlier} and ${entry.n})`;
      started.set(id, entry.n);
      if (session.first === undefined) return `session ${id} has no events in the ${holder}, but the ledger recorded its start (its events were deleted)`;
      if (session.first !== entry.hash) return `session ${id}'s first event does not match the ledger's start entry (its first events were removed or changed)`;
      return undefined;
    }
    case 'seal': {
      if (!started.has(id)) return `ledger entry ${entry.n} seals session ${id}, which the ledger never started`;
      const earlier = sealed.get(id);
      if (earlier !== undefined) return `session ${id} is sealed twice in the ledger (entries ${earlier} and ${entry.n})`;
      sealed.set(id, entry.n);
      if (!session.ended) return `session ${id} is sealed in the ledger but open in the ${holder} (its end was removed)`;
      if (session.last !== entry.hash) {
        return `session ${id}'s last event does not match the ledger's seal (events were removed from its end, added after it was sealed, or changed)`;
      }
      return undefined;
    }
    default:
      // Read from storage, so a kind outside the type is tampering, not a compile-time case.
      return `ledger entry ${String(entry.n)} has an unknown kind ${JSON.stringify(entry.kind satisfies never)}`;
  }
}

/**
 * Whether the number at `index` (seq or n) continues 1, 2, 3, …, with the problem worded for a
 * person: a gap, a swap or a duplicate. `number` is the one to look for in the store.
 */
function sequenceProblem(numbers: readonly number[], index: number, [noun, nouns]: readonly [string, string], field: string): { number: number; message: string } | undefined {
  const expected = index + 1;
  const actual = numbers[index] as number;
  if (actual === expected) return undefined;
  if (!Number.isSafeInteger(actual) || actual < 1) return { number: expected, message: `${noun} ${expected} has an invalid ${field} ${JSON.stringify(actual)}` };
  if (actual < expected) return { number: actual, message: `${noun} ${actual} is recorded twice` };
  if (numbers.indexOf(expected, index + 1) >= 0) return { number: expected, message: `${nouns} out of order: ${field} ${actual} before ${expected}` };
  const after = index === 0 ? `the first is ${field} ${actual}` : `${field} jumps from ${expected - 1} to ${actual}`;
  const missing = actual - expected === 1 ? `${noun} ${expected} is missing` : `${nouns} ${expected} to ${actual - 1} are missing`;
  return { number: expected, message: `${missing} (${after})` };
}

type Settled = string | Error;

/** A hash, or why there is none: stored data that JSON cannot hold must not end the check with a throw. */
function settle(hash: Promise<string>): Promise<Settled> {
  return hash.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
}

/** A checkpoint as a store row or a bundle line holds it: the JWS, and unsigned copies of its claims. */
export interface StoredCheckpoint {
  readonly n: number;
  readonly jws: string;
  readonly time: number;
  readonly kid: string;
  readonly ledger_n: number;
  readonly ledger_head: string;
}

/**
 * The first thing wrong with a checkpoint: its signature, its unsigned copies of the claims, or
 * the ledger entry it signed (gone, or hashing differently now). `ledgerName` says whose ledger
 * in messages ("the ledger", "the bundle's ledger").
 */
export async function checkpointProblem(checkpoint: StoredCheckpoint, ledger: readonly LedgerEntry[], key: Ed25519PublicJwk, ledgerName = 'the ledger'): Promise<ChainProblem | undefined> {
  let claims;
  try {
    claims = await verifyCheckpoint(checkpoint.jws, key);
  } catch (error) {
    return { ledger_n: checkpoint.ledger_n, message: `checkpoint ${checkpoint.n}: ${(error as Error).message}` };
  }
  const at = { ledger_n: claims.ledger_n };
  // The record's own fields are copies for reading; they must say what the JWS says.
  if (claims.ledger_n !== checkpoint.ledger_n || claims.ledger_head !== checkpoint.ledger_head || claims.kid !== checkpoint.kid || claims.time !== checkpoint.time) {
    return { ...at, message: `checkpoint ${checkpoint.n}: its record does not match what its signature covers (ledger entry ${claims.ledger_n}, ${shortHash(claims.ledger_head)})` };
  }
  if (claims.ledger_n > ledger.length) {
    return { ...at, message: `checkpoint ${checkpoint.n} signed ledger entry ${claims.ledger_n}, but ${ledgerName} ends at ${ledger.length}: entries were removed` };
  }
  const entry = ledger[claims.ledger_n - 1];
  if (claims.ledger_n > 0 && entry?.entry_hash !== claims.ledger_head) {
    return { ...at, message: `checkpoint ${checkpoint.n} signed ledger entry ${claims.ledger_n} as ${shortHash(claims.ledger_head)}, but it now hashes to ${shortHash(entry?.entry_hash ?? null)}: the ledger was rewritten` };
  }
  return undefined;
}

/** A retention record as stored: the canonical JSON of the removed sessions, and its JWS. */
export interface StoredPrune {
  readonly n: number;
  readonly sessions: string;
  readonly jws: string;
}

/**
 * The sessions a retention record vouches for, once its signature verifies and its session list
 * hashes to what it signed; an Error saying which record and what is wrong otherwise.
 */
export async function prunedSessions(record: StoredPrune, key: Ed25519PublicJwk): Promise<PrunedSession[]> {
  let claims;
  try {
    claims = await verifyPrune(record.jws, key);
  } catch (error) {
    throw new Error(`retention record ${record.n}: ${(error as Error).message}`, { cause: error });
  }
  let sessions: PrunedSession[] | undefined;
  try {
    const parsed: unknown = JSON.parse(record.sessions);
    if (Array.isArray(parsed)) sessions = parsed as PrunedSession[];
  } catch {
    sessions = undefined;
  }
  if (!sessions || (await sha256Hex(record.sessions)) !== claims.sessions_sha256 || sessions.length !== claims.count) {
    throw new Error(`retention record ${record.n} was changed after it was signed: its list of removed sessions does not match its signature`);
  }
  return sessions;
}

/** The first 12 hex characters of a hash, for messages. */
export function shortHash(hash: string | null): string {
  return hash === null ? 'nothing' : `${hash.slice(0, 12)}…`;
}
