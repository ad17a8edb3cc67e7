import type { ChainedEvent, LedgerEntry } from '../common/audit-chain-types.js';
import { BUNDLE_FORMAT, type BundleCheckpoint, type BundleFilter, type BundleManifest, type BundleSessionRecord } from '../common/bundle-format.js';
import { sha256Hex } from '../common/chain-hash.js';
import { chainHead } from '../common/chain-verify.js';
import { keyIdOf, parsePublicKey, publicKeyLine } from '../common/checkpoint-verify.js';
import type { AuditReader, ChainRecords, EventRecord, SessionRecord } from './audit-types.js';
import type { BundleSigner } from './bundle-signer.js';

// `sluice export`: a signed, self-contained copy of chosen sessions with the whole ledger, so an
// auditor can check them offline (proxy/common/bundle-verify.ts; format in docs/audit-format.md).
// A bundle carries one gateway's ledger: from a store several gateways share, one bundle per
// recording gateway (exportBundle's `gateway`), whichever gateway's key signs it.

export interface ExportOptions {
  /**
   * The recording gateway (its key id) whose sessions and ledger to export, in a store several
   * gateways share. Optional when the store has one gateway; for a SQLite store, only the
   * signer's own id is accepted (its one ledger is the signer's).
   */
  readonly gateway?: string;
}

/**
 * The bundle text for the sessions `filter` selects (all of them without one). Throws when a
 * session id given is not in the store, or when nothing matches.
 *
 * The gateway may be writing while this reads. Sessions are read first and the ledger last, and
 * the ledger is cut before its first entry written after the sessions were read (a session that
 * started later, or the seal of one read while open), so the bundle is the store as it stood
 * then: every exported session's start and seal are in the ledger, and nothing more.
 */
export async function exportBundle(reader: AuditReader, signer: BundleSigner, filter: BundleFilter = {}, options: ExportOptions = {}): Promise<string> {
  const ledgerOf = await ledgerGateway(reader, signer, options.gateway);
  // Every session, whatever the filter: the ledger cut below must tell "not chosen" from "new".
  const all = await reader.listSessions({ limit: Number.MAX_SAFE_INTEGER });
  const records = ledgerOf.id === undefined ? all : all.filter((record) => record.gateway === ledgerOf.id);
  const known = new Map(records.map((record) => [record.id, record]));
  for (const id of filter.sessions ?? []) {
    if (known.has(id)) continue;
    const elsewhere = all.find((record) => record.id === id)?.gateway;
    if (elsewhere !== undefined) throw new Error(`session ${id} was recorded by gateway ${elsewhere}, not ${ledgerOf.id ?? 'this one'}: a bundle carries one gateway's ledger, so that session goes in a bundle of gateway ${elsewhere}'s`);
    throw new Error(`no session ${id} in ${reader.file}; list them with 'sluice sessions'`);
  }
  const chosen = records.filter((record) => sessionMatches(record, filter));
  const events = new Map<string, EventRecord[]>();
  for (const record of chosen) events.set(record.id, await reader.listEvents(record.id));
  const chain = await reader.readChain(ledgerOf.id);
  const pruned = new Set(chain.prunes.flatMap((prune) => (JSON.parse(prune.sessions) as { id: string }[]).map((session) => session.id)));
  const ledger = ledgerAsRead(chain.ledger, known, pruned);
  const inLedger = new Set(ledger.filter((entry) => entry.kind === 'start').map((entry) => entry.session_id));
  // Ledger order is start order: the order an auditor reads the sessions in.
  const startOrder = new Map(ledger.map((entry, index) => [`${entry.kind} ${entry.session_id}`, index]));
  const exported = chosen.filter((record) => inLedger.has(record.id)).sort((a, b) => (startOrder.get(`start ${a.id}`) ?? 0) - (startOrder.get(`start ${b.id}`) ?? 0));
  if (exported.length === 0) throw new Error(nothingMatches(reader.file, filter, ledgerOf.id));

  const finalHashes = new Map(chain.sessions.map((session) => [session.id, session.finalHash]));
  const lines: string[] = [];
  let eventCount = 0;
  for (const record of exported) {
    const recorded = events.get(record.id) ?? [];
    lines.push(JSON.stringify({ t: 'session', ...sessionLine(record, record.status === 'open' ? null : (finalHashes.get(record.id) ?? null)) }));
    for (const event of recorded) lines.push(JSON.stringify({ t: 'event', ...eventLine(event) }));
    eventCount += recorded.length;
  }
  for (const entry of ledger) lines.push(JSON.stringify({ t: 'ledger', ...entry }));
  const checkpoints = chain.checkpoints.filter((checkpoint) => checkpoint.ledgerN <= ledger.length).map(checkpointLine);
  for (const checkpoint of checkpoints) lines.push(JSON.stringify({ t: 'checkpoint', ...checkpoint }));
  // Retention records vouch for the sessions the ledger names that the store no longer holds.
  for (const prune of chain.prunes) lines.push(JSON.stringify({ t: 'prune', n: prune.n, horizon: prune.horizon, sessions: prune.sessions, jws: prune.jws }));

  const body = lines.map((line) => `${line}\n`).join('');
  const head = chainHead(ledger);
  const manifest: BundleManifest = {
    format: BUNDLE_FORMAT,
    kid: signer.kid,
    created: Date.now(),
    gateway_key: publicKeyLine(signer.publicJwk),
    // Only when it differs: a bundle of the signer's own ledger is written as before this field.
    ...(ledgerOf.key !== undefined ? { ledger_key: ledgerOf.key } : {}),
    filter: definedOnly(filter),
    partial: Object.keys(definedOnly(filter)).length > 0,
    sessions: exported.map((record) => record.id),
    counts: { sessions: exported.length, events: eventCount, ledger: ledger.length, checkpoints: checkpoints.length },
    ledger_head: { n: head.ledger_n, hash: head.ledger_head },
    body_sha256: await sha256Hex(body),
  };
  return `${await signer.signManifest(manifest)}\n${body}`;
}

/**
 * Whose ledger the bundle carries: `id` undefined for a SQLite store (its one ledger), `key` the
 * public key line to write as ledger_key when that gateway is not the signer.
 */
async function ledgerGateway(reader: AuditReader, signer: BundleSigner, gateway: string | undefined): Promise<{ id?: string; key?: string }> {
  if (!reader.gateways) {
    if (gateway !== undefined && gateway !== signer.kid) {
      throw new Error(`${reader.file} is the store of one gateway, whose key is ${signer.kid}; it holds no sessions of gateway ${gateway}`);
    }
    return {};
  }
  const gateways = await reader.gateways();
  const record = gateway === undefined ? (gateways.length === 1 ? gateways[0] : undefined) : gateways.find((known) => known.id === gateway);
  if (!record) {
    const listed = gateways.map((known) => `${known.id} (${known.name})`).join(', ') || 'none yet';
    throw new Error(
      gateway === undefined
        ? `${reader.file} holds the sessions of ${gateways.length} gateways, each with its own ledger: export one gateway at a time (gateways: ${listed})`
        : `no gateway ${gateway} in ${reader.file} (gateways: ${listed})`,
    );
  }
  if (record.id === signer.kid) return { id: record.id };
  // The registered key must be the one its id names: the verifier checks the ledger's
  // signatures with this key, and a bundle naming the wrong one would fail only there.
  let key;
  try {
    key = parsePublicKey(record.publicKey);
  } catch (error) {
    throw new Error(`gateway ${record.id} (${record.name}) registered a public key that cannot be read: ${(error as Error).message}`, { cause: error });
  }
  const kid = await keyIdOf(key);
  if (kid !== record.id) throw new Error(`gateway ${record.id} (${record.name}) registered the public key of key ${kid}: the store's gateway list was changed; run 'sluice verify'`);
  return { id: record.id, key: publicKeyLine(key) };
}

/** Whether a session is among those `filter` chooses. */
export function sessionMatches(record: SessionRecord, filter: BundleFilter): boolean {
  if (filter.sessions && filter.sessions.length > 0 && !filter.sessions.includes(record.id)) return false;
  if (filter.resource !== undefined && record.resource !== filter.resource) return false;
  if (filter.since !== undefined && record.startedAt < filter.since) return false;
  if (filter.until !== undefined && record.startedAt >= filter.until) return false;
  return true;
}

/** The ledger up to its first entry the session read does not account for (see exportBundle). */
function ledgerAsRead(ledger: ChainRecords['ledger'], known: ReadonlyMap<string, SessionRecord>, pruned: ReadonlySet<string>): LedgerEntry[] {
  const cut = ledger.findIndex((entry) => {
    // Removed by retention before the read: accounted for by its signed record.
    if (pruned.has(entry.session_id)) return false;
    const record = known.get(entry.session_id);
    return entry.kind === 'start' ? record === undefined : record?.status === 'open';
  });
  return cut < 0 ? [...ledger] : ledger.slice(0, cut);
}

function sessionLine(record: SessionRecord, finalHash: string | null): BundleSessionRecord {
  const { id, resource, protocol, identity, clientAddress, application, startedAt, endedAt, status, counters } = record;
  return { id, resource, protocol, identity, clientAddress, application, startedAt, endedAt, status, counters: { ...counters }, final_hash: finalHash };
}

function eventLine(event: EventRecord): ChainedEvent {
  return { session_id: event.sessionId, seq: event.seq, time: event.time, kind: event.kind, payload: event.payload, prev_hash: event.prevHash, hash: event.hash };
}

function checkpointLine(checkpoint: ChainRecords['checkpoints'][number]): BundleCheckpoint {
  return { n: checkpoint.n, time: checkpoint.time, ledger_n: checkpoint.ledgerN, ledger_head: checkpoint.ledgerHead, kid: checkpoint.kid, jws: checkpoint.jws };
}

function definedOnly(filter: BundleFilter): BundleFilter {
  const { sessions, since, until, resource } = filter;
  return { ...(sessions && sessions.length > 0 ? { sessions: [...sessions] } : {}), ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), ...(resource !== undefined ? { resource } : {}) };
}

/** Why there is nothing to export: the store (or gateway) has no sessions, or none the filter chooses. */
export function nothingMatches(file: string, filter: BundleFilter, gateway?: string): string {
  const of = gateway === undefined ? '' : ` of gateway ${gateway}`;
  const parts = Object.entries(definedOnly(filter)).map(([key, value]) => `${key} ${Array.isArray(value) ? value.join(', ') : key === 'resource' ? String(value) : new Date(value as number).toISOString()}`);
  return parts.length > 0 ? `no sessions${of} in ${file} match the filter (${parts.join('; ')})` : `no sessions${of} in ${file} to export: none recorded yet`;
}
