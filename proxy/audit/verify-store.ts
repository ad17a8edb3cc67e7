import type { ChainedEvent, ChainProblem } from '../common/audit-chain-types.js';
import { eventHashInput } from '../common/chain-hash.js';
import { checkpointProblem, prunedSessions, shortHash, verifyLedger, verifySessionEvents, type EventHasher } from '../common/chain-verify.js';
import { keyIdOf, parsePublicKey, type Ed25519PublicJwk } from '../common/checkpoint-verify.js';
import { sha256HexSync } from './event-chain.js';
import type { AuditReader, GatewayRecord } from './audit-types.js';

/** What `sluice verify` found in a live store. */
export type StoreVerification =
  | {
      readonly ok: true;
      readonly sessions: number;
      readonly events: number;
      readonly ledger: number;
      readonly checkpoints: number;
      /** Sessions removed by retention, each named in a signed retention record. */
      readonly pruned: number;
      /** The newest checkpoint: when it was signed and the ledger entry it covers. */
      readonly lastCheckpoint?: { readonly time: number; readonly ledgerN: number };
    }
  | { readonly ok: false; readonly problem: ChainProblem };

/**
 * Checks a store end to end, stopping at the first broken link: every session's event chain and
 * seal, the ledger of session starts and seals (a deleted or inserted session breaks it), and
 * every checkpoint's signature and the ledger head it signed (entries removed or rewritten since
 * are caught there, unless the signing key was used to sign again).
 */
export async function verifyStore(reader: AuditReader, publicJwk: Ed25519PublicJwk, gateway?: string): Promise<StoreVerification> {
  const chain = await reader.readChain(gateway);
  const heads = new Map<string, { first?: string; last?: string; ended: boolean }>();
  let events = 0;
  for (const session of chain.sessions) {
    const recorded = await reader.listEvents(session.id);
    const chained: ChainedEvent[] = recorded.map((event) => ({
      session_id: event.sessionId,
      seq: event.seq,
      time: event.time,
      kind: event.kind,
      payload: event.payload,
      prev_hash: event.prevHash,
      hash: event.hash,
    }));
    const problem = await verifySessionEvents(session.id, chained, hashSync);
    if (problem) return { ok: false, problem };
    const last = chained.at(-1)?.hash;
    if (session.status !== 'open' && session.finalHash !== (last ?? null)) {
      return {
        ok: false,
        problem: { session_id: session.id, seq: chained.at(-1)?.seq, message: `session ${session.id} is sealed with ${shortHash(session.finalHash)}, but its last event hashes to ${shortHash(last ?? null)}: events were added or removed after it ended` },
      };
    }
    heads.set(session.id, { first: chained[0]?.hash, last, ended: session.status !== 'open' });
    events += chained.length;
  }
  let pruned = 0;
  for (const record of chain.prunes) {
    let sessions;
    try {
      sessions = await prunedSessions(record, publicJwk);
    } catch (error) {
      return { ok: false, problem: { message: (error as Error).message } };
    }
    // Removed by retention, and signed for: the ledger may go on naming them.
    for (const session of sessions) heads.set(session.id, { first: session.first, last: session.last, ended: true });
    pruned += sessions.length;
  }
  const ledgerProblem = await verifyLedger(chain.ledger, heads);
  if (ledgerProblem) return { ok: false, problem: ledgerProblem };
  for (const checkpoint of chain.checkpoints) {
    const { n, jws, time, kid, ledgerN, ledgerHead } = checkpoint;
    const problem = await checkpointProblem({ n, jws, time, kid, ledger_n: ledgerN, ledger_head: ledgerHead }, chain.ledger, publicJwk);
    if (problem) return { ok: false, problem };
  }
  const newest = chain.checkpoints.at(-1);
  return {
    ok: true,
    sessions: chain.sessions.length,
    events,
    ledger: chain.ledger.length,
    checkpoints: chain.checkpoints.length,
    pruned,
    ...(newest ? { lastCheckpoint: { time: newest.time, ledgerN: newest.ledgerN } } : {}),
  };
}

/** node:crypto's digest, synchronous: the WebCrypto default costs a promise and a copy per event. */
const hashSync: EventHasher = async (prevHash, event) => sha256HexSync(eventHashInput(prevHash, event));

/** One gateway's part of a shared store, checked with its key. */
export type GatewayVerification = StoreVerification & { readonly gateway: string; readonly name: string; readonly keyTrusted: boolean };

/**
 * Checks a store several gateways share: each gateway's sessions, ledger, checkpoints and
 * retention records with that gateway's own key. `trusted` pins keys: a gateway whose key is not
 * among them fails. Without it, each gateway's key is the one it registered in the store, which
 * proves the chains intact but not who wrote them (someone able to rewrite the store could
 * register a key too).
 */
export async function verifyGateways(reader: AuditReader & { gateways(): Promise<GatewayRecord[]> }, trusted?: readonly Ed25519PublicJwk[]): Promise<GatewayVerification[]> {
  const pinned = trusted && new Map(await Promise.all(trusted.map(async (jwk) => [await keyIdOf(jwk), jwk] as const)));
  const results: GatewayVerification[] = [];
  for (const gateway of await reader.gateways()) {
    let registered: Ed25519PublicJwk;
    try {
      registered = parsePublicKey(gateway.publicKey);
    } catch (error) {
      results.push({ ok: false, gateway: gateway.id, name: gateway.name, keyTrusted: false, problem: { message: `gateway ${gateway.id} registered a key that does not parse: ${(error as Error).message}` } });
      continue;
    }
    const key = pinned ? pinned.get(gateway.id) : registered;
    if (!key) {
      results.push({ ok: false, gateway: gateway.id, name: gateway.name, keyTrusted: false, problem: { message: `gateway ${gateway.id} (${gateway.name}) recorded sessions with a key you did not pass with --key` } });
      continue;
    }
    results.push({ ...(await verifyStore(reader, key, gateway.id)), gateway: gateway.id, name: gateway.name, keyTrusted: pinned !== undefined });
  }
  return results;
}
