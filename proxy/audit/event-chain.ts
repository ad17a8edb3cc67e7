import { createHash } from 'node:crypto';
import { GENESIS_HASH, type LedgerEntry } from '../common/audit-chain-types.js';
import { canonicalJson } from '../common/canonical-json.js';
import { ledgerHashInput } from '../common/chain-hash.js';

// The writing side of the hash chains (audit-chain-types.ts has the spec): hashed synchronously
// with node:crypto as events are queued, so the chain follows the order the gateway saw things
// in. Verifiers (proxy/common/chain-verify.ts) recompute the same text with WebCrypto.

/** One event, hashed: what the store keeps. */
export interface HashedEvent {
  readonly seq: number;
  /** The canonical JSON of the payload: stored as is, so the stored text is the hashed text. */
  readonly payload: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** An event ready for the table: its payload is already canonical JSON text, its hashes computed. */
export interface EventRow {
  readonly session_id: string;
  readonly seq: number;
  readonly time: number;
  readonly kind: string;
  readonly payload: string;
  readonly prev_hash: string;
  readonly hash: string;
}

export function sha256HexSync(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** One session's chain: each event's hash covers the previous one's. */
export class EventChain {
  #seq = 0;
  #head = GENESIS_HASH;

  constructor(readonly sessionId: string) {}

  get head(): string {
    return this.#head;
  }

  get seq(): number {
    return this.#seq;
  }

  next(kind: string, time: number, payload: Readonly<Record<string, unknown>>): HashedEvent {
    const seq = ++this.#seq;
    const text = canonicalPayload(payload);
    // canonical({session_id, seq, time, kind, payload}) with the payload already canonical:
    // keys in code-unit order are kind, payload, seq, session_id, time.
    const input = `${this.#head}{"kind":${JSON.stringify(kind)},"payload":${text},"seq":${seq},"session_id":${JSON.stringify(this.sessionId)},"time":${time}}`;
    const prevHash = this.#head;
    this.#head = sha256HexSync(input);
    return { seq, payload: text, prevHash, hash: this.#head };
  }
}

/** The gateway-level chain of session starts and seals. */
export class Ledger {
  constructor(
    private n: number,
    private head: string,
  ) {}

  get last(): { readonly n: number; readonly head: string } {
    return { n: this.n, head: this.head };
  }

  append(kind: LedgerEntry['kind'], sessionId: string, hash: string, time: number): LedgerEntry {
    const fields = { n: this.n + 1, kind, session_id: sessionId, hash, time };
    const entry: LedgerEntry = { ...fields, prev: this.head, entry_hash: sha256HexSync(ledgerHashInput(this.head, fields)) };
    this.n = entry.n;
    this.head = entry.entry_hash;
    return entry;
  }
}

/**
 * Canonical now, so a caller changing its object later cannot change the record. A payload
 * JSON cannot express (a BigInt, a cycle) is a bug in the caller, but the event still happened:
 * it is recorded with the reason in place of its payload rather than dropped.
 */
function canonicalPayload(payload: Readonly<Record<string, unknown>>): string {
  try {
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return canonicalJson({ unrecordable_payload: `not a JSON object (${typeof payload})` });
    return canonicalJson(payload);
  } catch (error) {
    return canonicalJson({ unrecordable_payload: (error as Error).message });
  }
}
