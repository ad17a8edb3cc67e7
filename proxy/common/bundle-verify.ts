import { compactVerify, decodeProtectedHeader, errors, importJWK } from 'jose';
import { GENESIS_HASH, type ChainProblem, type LedgerEntry } from './audit-chain-types.js';
import { BundleFormatError, manifestFromPayload, parseBody, readManifestUnverified, splitBundle, type BundleCheckpoint, type BundleManifest, type BundleSession } from './bundle-format.js';
import { sha256Hex } from './chain-hash.js';
import { chainHead, checkpointProblem, prunedSessions, shortHash, verifyLedger, verifySessionEvents, type StoredSessionEnds } from './chain-verify.js';
import { keyIdOf, parsePublicKey, publicKeyLine, type Ed25519PublicJwk } from './checkpoint-verify.js';

// Checking an exported bundle offline, with nothing but its text and (ideally) the gateway's
// public key: `sluice verify FILE.sluice` and the renderer run the same code. No Node APIs.
// Order matters for the messages: the signature first (who vouches for the manifest), then the
// body against the manifest (was anything changed after signing), then the chains themselves
// (was anything changed before, by whoever signed).

export { parseBundle, BundleFormatError } from './bundle-format.js';
export type { BundleManifest, BundleSession, BundleCheckpoint, ParsedBundle } from './bundle-format.js';

export type BundlePart = 'manifest' | 'body' | 'session' | 'ledger' | 'checkpoint';
export type BundleProblem = ChainProblem & { readonly what: BundlePart };

export type BundleReport =
  | {
      readonly ok: true;
      /** The signed manifest. */
      readonly manifest: BundleManifest;
      readonly sessions: readonly BundleSession[];
      /** Events in all sessions. */
      readonly events: number;
      readonly ledger: readonly LedgerEntry[];
      readonly checkpoints: readonly BundleCheckpoint[];
      /**
       * The key id the ledger's checkpoints and retention records verified with: the manifest's
       * `ledger_key` (another gateway of a shared store), else the signer's. Whoever signed the
       * manifest vouches for it; `keyTrusted` says whether that signer is one the caller trusts.
       */
      readonly ledgerKid: string;
      /**
       * Whether the signatures were checked with a key the caller trusts. False when none was
       * given: then they were checked with the key the bundle names, which whoever wrote the
       * bundle chose, so the check proves consistency, not origin.
       */
      readonly keyTrusted: boolean;
    }
  | { readonly ok: false; readonly problem: BundleProblem };

/** Verifies a bundle's text end to end; the first problem found, or everything it holds. */
export async function verifyBundle(text: string, trustedKey?: Ed25519PublicJwk): Promise<BundleReport> {
  try {
    return await check(text, trustedKey);
  } catch (error) {
    if (error instanceof Failed) return { ok: false, problem: error.problem };
    if (error instanceof BundleFormatError) return { ok: false, problem: { what: error.part, message: error.message } };
    throw error;
  }
}

/** Thrown by the steps below to end the check with one problem. */
class Failed extends Error {
  constructor(readonly problem: BundleProblem) {
    super(problem.message);
  }
}

function fail(what: BundlePart, message: string, at: ChainProblem | object = {}): never {
  throw new Failed({ ...at, what, message });
}

async function check(text: string, trustedKey: Ed25519PublicJwk | undefined): Promise<BundleReport> {
  const { manifestJws, body } = splitBundle(text);
  const { manifest, key } = await verifyManifest(manifestJws, trustedKey);
  const ledgerKey = await ledgerKeyOf(manifest, key);
  if ((await sha256Hex(body)) !== manifest.body_sha256) fail('body', 'the bundle was changed after it was signed: its body does not match the manifest');
  // A body that hashes right was written as signed: a record it cannot read is the writer's fault.
  const { sessions, ledger, checkpoints, prunes } = parseBody(body);

  const present = sessions.map((session) => session.record.id);
  for (const id of manifest.sessions) {
    if (!present.includes(id)) fail('session', `the manifest lists session ${id}, which is not in the bundle`, { session_id: id });
  }
  for (const id of present) {
    if (!manifest.sessions.includes(id)) fail('session', `session ${id} is in the bundle but not in the manifest`, { session_id: id });
  }
  if (present.join('\n') !== manifest.sessions.join('\n')) fail('session', `the sessions are not in the order the manifest lists them (${manifest.sessions.join(', ')})`);
  const events = sessions.reduce((sum, session) => sum + session.events.length, 0);
  const counted = { sessions: sessions.length, events, ledger: ledger.length, checkpoints: checkpoints.length };
  for (const [name, count] of Object.entries(counted)) {
    const promised = manifest.counts[name as keyof typeof counted];
    if (promised !== count) fail('body', `the manifest counts ${promised} ${name} but the bundle holds ${count}`);
  }

  const ends = new Map<string, StoredSessionEnds>();
  for (const { record, events: chained } of sessions) {
    const problem = await verifySessionEvents(record.id, chained);
    if (problem) fail('session', ofSession(problem.message, record.id), problem);
    const last = chained.at(-1)?.hash ?? null;
    const ended = record.status !== 'open';
    if (ended && record.final_hash !== last) {
      fail('session', `session ${record.id} is sealed with ${shortHash(record.final_hash)}, but its last event hashes to ${shortHash(last)}: events were added or removed after it ended`, { session_id: record.id });
    }
    if (!ended && record.final_hash !== null) fail('session', `session ${record.id} is open but carries a final_hash: its record was changed`, { session_id: record.id });
    ends.set(record.id, { first: chained[0]?.hash, last: last ?? undefined, ended });
  }

  // Sessions retention removed, vouched for by a signed record, count as present for the ledger.
  for (const prune of prunes) {
    let removed;
    try {
      removed = await prunedSessions(prune, ledgerKey.jwk);
    } catch (error) {
      return fail('ledger', withLedgerKey((error as Error).message, ledgerKey));
    }
    for (const session of removed) if (!ends.has(session.id)) ends.set(session.id, { first: session.first, last: session.last, ended: true });
  }

  const ledgerProblem = await verifyLedger(ledger, ends, { partial: manifest.partial, holder: 'bundle' });
  if (ledgerProblem) fail('ledger', ledgerProblem.message, ledgerProblem);
  const head = chainHead(ledger);
  if (head.ledger_n !== manifest.ledger_head.n || head.ledger_head !== manifest.ledger_head.hash) {
    fail('ledger', `the ledger ends at entry ${head.ledger_n} (${shortHash(head.ledger_n === 0 ? GENESIS_HASH : head.ledger_head)}), but the manifest signed entry ${manifest.ledger_head.n} (${shortHash(manifest.ledger_head.hash)}) as its head`, { ledger_n: head.ledger_n });
  }

  for (const checkpoint of checkpoints) await verifyBundleCheckpoint(checkpoint, ledger, ledgerKey);
  return { ok: true, manifest, sessions, events, ledger, checkpoints, ledgerKid: ledgerKey.kid, keyTrusted: trustedKey !== undefined };
}

/** The signed manifest, and the key that verified it (the trusted one, else the one it names). */
async function verifyManifest(jws: string, trustedKey: Ed25519PublicJwk | undefined): Promise<{ manifest: BundleManifest; key: Ed25519PublicJwk }> {
  const unverified = readManifestUnverified(jws);
  let key: Ed25519PublicJwk;
  try {
    key = trustedKey ?? parsePublicKey(unverified.gateway_key);
  } catch (error) {
    return fail('manifest', `the manifest's gateway_key cannot be read: ${(error as Error).message}`);
  }
  const kid = await keyIdOf(key);
  let payload: Uint8Array;
  try {
    const verified = await compactVerify(jws, await importJWK({ kty: key.kty, crv: key.crv, x: key.x }, 'EdDSA'), { algorithms: ['EdDSA'] });
    payload = verified.payload;
  } catch (error) {
    if (!(error instanceof errors.JWSSignatureVerificationFailed)) return fail('manifest', `the manifest is not a valid EdDSA compact JWS: ${(error as Error).message}`);
    if (trustedKey) {
      const signer = decodeProtectedHeader(jws).kid;
      const named = signer === kid ? '' : `; the bundle says it was signed by key ${String(signer)}`;
      return fail('manifest', `manifest signature does not verify with the given key ${kid}: the bundle was signed by another key, or its manifest was changed after signing${named}`);
    }
    return fail('manifest', `manifest signature does not verify with the key the bundle names (${kid}): the manifest was changed after it was signed`);
  }
  // Only the verified bytes are trusted from here on.
  const manifest = manifestFromPayload(payload);
  const headerKid = decodeProtectedHeader(jws).kid;
  if (manifest.kid !== kid || headerKid !== kid) fail('manifest', `the manifest names key ${manifest.kid} (header: ${String(headerKid)}), but it verifies with key ${kid}`);
  if (manifest.gateway_key !== publicKeyLine(key)) fail('manifest', `the manifest names gateway_key ${manifest.gateway_key}, but it verifies with ${publicKeyLine(key)}`);
  return { manifest, key };
}

/** The key the ledger's signatures (checkpoints, retention records) are checked with, and where the manifest named it. */
interface LedgerKey {
  readonly jwk: Ed25519PublicJwk;
  readonly kid: string;
  readonly from: 'gateway_key' | 'ledger_key';
}

/**
 * The manifest's ledger_key when it has one (a bundle of another gateway's sessions, from a
 * shared store), else the key the manifest verified with. Read from the verified manifest only:
 * the signature covers it, so it is the signer's word for whose ledger this is.
 */
async function ledgerKeyOf(manifest: BundleManifest, signer: Ed25519PublicJwk): Promise<LedgerKey> {
  if (manifest.ledger_key === undefined) return { jwk: signer, kid: await keyIdOf(signer), from: 'gateway_key' };
  let jwk: Ed25519PublicJwk;
  try {
    jwk = parsePublicKey(manifest.ledger_key);
  } catch (error) {
    return fail('manifest', `the manifest's ledger_key cannot be read: ${(error as Error).message}`);
  }
  if (manifest.ledger_key !== publicKeyLine(jwk)) fail('manifest', `the manifest's ledger_key is not a key line (${publicKeyLine(jwk)}): the format writes it as sluice-ed25519:…`);
  return { jwk, kid: await keyIdOf(jwk), from: 'ledger_key' };
}

async function verifyBundleCheckpoint(checkpoint: BundleCheckpoint, ledger: readonly LedgerEntry[], key: LedgerKey): Promise<void> {
  const problem = await checkpointProblem(checkpoint, ledger, key.jwk, "the bundle's ledger");
  if (problem) fail('checkpoint', withLedgerKey(problem.message, key, checkpoint.kid), problem);
}

/**
 * A signature that fails with a ledger_key is most likely a bundle naming the wrong gateway's
 * key: say which key that was and where it came from, not only that a signature failed.
 */
function withLedgerKey(message: string, key: LedgerKey, recordKid?: string): string {
  if (key.from !== 'ledger_key' || !/signature does not verify/.test(message)) return message;
  const claimed = recordKid !== undefined && recordKid !== key.kid ? `; its record says key ${recordKid} signed it` : '';
  return `${message}${claimed}. Key ${key.kid} is the manifest's ledger_key, the gateway whose ledger the bundle says it carries: the bundle names the wrong gateway's key, or its ledger's signatures were changed`;
}

/** "event 4 was changed" read alone must say which session: "event 4 of session X was changed". */
function ofSession(message: string, sessionId: string): string {
  const named = message.replace(/^(events?) (\d+(?: to \d+)?)/, `$1 $2 of session ${sessionId}`);
  return named === message ? `session ${sessionId}: ${message}` : named;
}
