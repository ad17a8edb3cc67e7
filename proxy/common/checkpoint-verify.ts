import { base64url, compactVerify, errors, importJWK } from 'jose';
import type { CheckpointClaims, PruneClaims } from './audit-chain-types.js';

// Checking a signed checkpoint with only the gateway's public key: `sluice verify` and the
// renderer opening a bundle offline use the same code. No Node APIs (WebCrypto via jose).

/** The JWS `typ` of a checkpoint, so no other EdDSA-signed token passes as one. */
export const CHECKPOINT_TYP = 'sluice-checkpoint+jws';
/** Prefix of the one-line public key form: `sluice-ed25519:<base64url of the raw 32-byte key>`. */
export const PUBLIC_KEY_LINE_PREFIX = 'sluice-ed25519:';

const RAW_KEY_BYTES = 32;
const KID_BYTES = 16;

/** The gateway's public key as a JWK (RFC 8037). */
export interface Ed25519PublicJwk {
  readonly kty: 'OKP';
  readonly crv: 'Ed25519';
  /** base64url of the raw 32-byte public key. */
  readonly x: string;
  readonly kid?: string;
}

/**
 * The key id: base64url of the first 16 bytes of sha256(raw public key). Derived from the key
 * itself so a verifier computes it without trusting any label that came with the key.
 */
export async function keyIdOf(jwk: Pick<Ed25519PublicJwk, 'x'>): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', rawKey(jwk.x));
  return base64url.encode(new Uint8Array(digest).slice(0, KID_BYTES));
}

/** The one-line form of a public key, short enough to paste into a ticket or a CI variable. */
export function publicKeyLine(jwk: Pick<Ed25519PublicJwk, 'x'>): string {
  rawKey(jwk.x);
  return `${PUBLIC_KEY_LINE_PREFIX}${jwk.x}`;
}

/** Reads a public key given as JWK JSON or as the one-line form; an Error says what is wrong. */
export function parsePublicKey(text: string): Ed25519PublicJwk {
  const trimmed = text.trim();
  if (trimmed.startsWith(PUBLIC_KEY_LINE_PREFIX)) {
    const x = trimmed.slice(PUBLIC_KEY_LINE_PREFIX.length);
    rawKey(x);
    return { kty: 'OKP', crv: 'Ed25519', x };
  }
  if (!trimmed.startsWith('{')) {
    throw new Error(`not a Sluice public key: expected "${PUBLIC_KEY_LINE_PREFIX}…" or a JWK (JSON); print it with 'sluice key show'`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch (error) {
    throw new Error(`the public key is not valid JSON (${error instanceof Error ? error.message : String(error)}); print it with 'sluice key show --json'`, { cause: error });
  }
  if (!isRecord(parsed) || parsed.kty !== 'OKP' || parsed.crv !== 'Ed25519' || typeof parsed.x !== 'string') {
    throw new Error('the public key JWK is not an Ed25519 key: it needs "kty": "OKP", "crv": "Ed25519" and "x"');
  }
  // A private JWK pasted here would work, but it must not travel with bundles: refuse it.
  if ('d' in parsed) throw new Error('that JWK holds a private key ("d"): pass the public key from \'sluice key show\' instead');
  rawKey(parsed.x);
  return { kty: 'OKP', crv: 'Ed25519', x: parsed.x };
}

/**
 * Verifies a compact JWS checkpoint with the gateway's public key and returns its claims. Throws
 * when the signature does not verify, the token is not a checkpoint, or its claims name another key.
 */
export async function verifyCheckpoint(jws: string, publicJwk: Pick<Ed25519PublicJwk, 'kty' | 'crv' | 'x'>): Promise<CheckpointClaims> {
  const { kid, payload } = await verifySigned(jws, publicJwk, CHECKPOINT_TYP, 'checkpoint');
  const claims = parseClaims(payload);
  if (claims.kid !== kid) {
    throw new Error(`checkpoint payload is not a Sluice checkpoint of key ${kid}: it names key ${claims.kid}`);
  }
  return claims;
}

/** The JWS `typ` of a retention record. */
export const PRUNE_TYP = 'sluice-prune+jws';

/** Verifies a retention record's signature and returns its claims (the caller checks the session list against sessions_sha256). */
export async function verifyPrune(jws: string, publicJwk: Pick<Ed25519PublicJwk, 'kty' | 'crv' | 'x'>): Promise<PruneClaims> {
  const { kid, payload } = await verifySigned(jws, publicJwk, PRUNE_TYP, 'retention record');
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    parsed = undefined;
  }
  if (!isRecord(parsed) || parsed.kid !== kid || !isCount(parsed.time) || !isCount(parsed.horizon) || !isCount(parsed.count) || typeof parsed.sessions_sha256 !== 'string') {
    throw new Error(`retention record payload is not a Sluice retention record of key ${kid}`);
  }
  return parsed as unknown as PruneClaims;
}

/** A compact EdDSA JWS of `typ`, verified with the key: its key id and payload bytes. */
async function verifySigned(jws: string, publicJwk: Pick<Ed25519PublicJwk, 'kty' | 'crv' | 'x'>, typ: string, what: string): Promise<{ kid: string; payload: Uint8Array }> {
  const kid = await keyIdOf(publicJwk);
  const key = await importJWK({ kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x }, 'EdDSA');
  let verified;
  try {
    verified = await compactVerify(jws, key, { algorithms: ['EdDSA'] });
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) {
      throw new Error(`${what} signature does not verify with key ${kid}: signed by another key or changed`, { cause: error });
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`${what} is not a valid EdDSA compact JWS: ${reason}`, { cause: error });
  }
  if (verified.protectedHeader.typ !== typ) {
    throw new Error(`${what} payload is not a Sluice ${what}: its typ is ${JSON.stringify(verified.protectedHeader.typ)}, not "${typ}"`);
  }
  return { kid, payload: verified.payload };
}

function parseClaims(payload: Uint8Array): CheckpointClaims {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    throw new Error('checkpoint payload is not a Sluice checkpoint: it is not JSON');
  }
  if (!isRecord(parsed)) throw new Error('checkpoint payload is not a Sluice checkpoint: it is not a JSON object');
  const { kid, time, ledger_n, ledger_head } = parsed;
  const wrong = [
    typeof kid === 'string' && kid !== '' ? '' : 'kid (a key id)',
    isCount(time) ? '' : 'time (ms since the epoch)',
    isCount(ledger_n) ? '' : 'ledger_n (a ledger entry number)',
    typeof ledger_head === 'string' && /^[0-9a-f]{64}$/.test(ledger_head) ? '' : 'ledger_head (64 hex characters)',
  ].filter(Boolean);
  if (wrong.length > 0) throw new Error(`checkpoint payload is not a Sluice checkpoint: missing or wrong ${wrong.join(', ')}`);
  return { kid, time, ledger_n, ledger_head } as CheckpointClaims;
}

/** The raw key bytes of a base64url `x`; an Error unless it decodes to exactly 32 bytes. */
function rawKey(x: string): Uint8Array<ArrayBuffer> {
  let bytes: Uint8Array;
  try {
    bytes = /^[A-Za-z0-9_-]+$/.test(x) ? base64url.decode(x) : new Uint8Array(0);
  } catch {
    bytes = new Uint8Array(0);
  }
  if (bytes.length !== RAW_KEY_BYTES) {
    throw new Error(`the public key is not ${RAW_KEY_BYTES} bytes of base64url (got ${JSON.stringify(x.length > 60 ? `${x.slice(0, 60)}…` : x)}); copy it again from 'sluice key show'`);
  }
  return new Uint8Array(bytes);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
