import type { ChainedEvent, LedgerEntry } from './audit-chain-types.js';
import { canonicalJson } from './canonical-json.js';

// The hashes of the two audit chains (the spec is in audit-chain-types.ts). The text builders
// are exported apart from the hashing so the gateway can hash the very same text synchronously
// with node:crypto, while verifiers here use WebCrypto. No Node APIs (isomorphic).

/** The fields an event hash covers. */
export type HashedEventFields = Pick<ChainedEvent, 'session_id' | 'seq' | 'time' | 'kind' | 'payload'>;
/** The fields a ledger entry hash covers. */
export type HashedLedgerFields = Pick<LedgerEntry, 'n' | 'kind' | 'session_id' | 'hash' | 'time'>;

const HEX_HASH = /^[0-9a-f]{64}$/;
const HEX_DIGITS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const utf8 = new TextEncoder();

/** Lowercase hex of SHA-256 over the UTF-8 of `text`. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', utf8.encode(text)));
  let hex = '';
  for (const byte of digest) hex += HEX_DIGITS[byte];
  return hex;
}

/** What an event's hash is taken over: prev_hash, then canonical({session_id, seq, time, kind, payload}). */
export function eventHashInput(prevHash: string, event: HashedEventFields): string {
  checkPrevious(prevHash, 'prev_hash');
  // Only the five spec fields, whatever else the caller's object carries (its stored hash, say).
  const { session_id, seq, time, kind, payload } = event;
  return prevHash + canonicalJson({ session_id, seq, time, kind, payload });
}

/** What a ledger entry's hash is taken over: prev, then canonical({n, kind, session_id, hash, time}). */
export function ledgerHashInput(prev: string, entry: HashedLedgerFields): string {
  checkPrevious(prev, 'prev');
  const { n, kind, session_id, hash, time } = entry;
  return prev + canonicalJson({ n, kind, session_id, hash, time });
}

// async, so a bad input rejects rather than throws: verifiers collect results with Promise.all.
export async function eventHash(prevHash: string, event: HashedEventFields): Promise<string> {
  return sha256Hex(eventHashInput(prevHash, event));
}

export async function ledgerEntryHash(prev: string, entry: HashedLedgerFields): Promise<string> {
  return sha256Hex(ledgerHashInput(prev, entry));
}

/**
 * The spec joins exactly 64 hex characters: anything else (an empty string, an uppercase or
 * truncated hash) would still hash, into a chain no other tool reproduces, so it is refused.
 */
function checkPrevious(value: string, name: string): void {
  if (!HEX_HASH.test(value)) throw new Error(`${name} must be a SHA-256 hash as 64 lowercase hex characters (GENESIS_HASH for the first), got ${JSON.stringify(value)}`);
}
