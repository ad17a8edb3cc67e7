import type { ChainedEvent, LedgerEntry } from '../common/audit-chain-types.js';
import { BUNDLE_FORMAT, type BundleCheckpoint, type BundleFilter, type BundleManifest, type BundleSessionRecord } from '../common/bundle-format.js';
import { sha256Hex } from '../common/chain-hash.js';
import { chainHead } from '../common/chain-verify.js';
import { publicKeyLine } from '../common/checkpoint-verify.js';
import type { AuditReader, ChainRecords, EventRecord, SessionRecord } from './audit-types.js';
import type { BundleSigner } from './bundle-signer.js';

// `sluice export`: a signed, self-contained copy of chosen sessions with the whole ledger, so an
// auditor can check them offline (proxy/common/bundle-verify.ts; format in docs/audit-format.md).

/**
 * The bundle text for the sessions `filter` selects (all of them without one). Throws when a
 * session id given is not in the store, or when nothing matches.
 *
 * The gateway may be writing while this reads. Sessions are read first and the ledger last, and
 * the ledger is cut before its first entry written after the sessions were read (a session that
 * started later, or the seal of one read while open), so the bundle is the store as it stood
 * then: every exported session's start and seal are in the ledger, and nothing more.
 */
export async function exportBundle(reader: AuditReader, signer: BundleSigner, filter: BundleFilter = {}): Promise<string> {
  // Every session, whatever the filter: the ledger cut below must tell "not chosen" from "new".
  const records = await reader.listSessions({ limit: Number.MAX_SAFE_INTEGER });
  const known = new Map(records.map((record) => [record.id, record]));
  for (const id of filter.sessions ?? []) {
    if (!known.has(id)) throw new Error(`no session ${id} in ${reader.file}; list them with 'sluice sessions'`);
  }
  const chosen = records.filter((record) => matches(record, filter));
  const events = new Map<string, EventRecord[]>();
  for (const record of chosen) events.set(record.id, await reader.listEvents(record.id));
  const chain = await reader.readChain();
  const pruned = new Set(chain.prunes.flatMap((prune) => (JSON.parse(prune.sessions) as { id: string }[]).map((session) => session.id)));
  const ledger = ledgerAsRead(chain.ledger, known, pruned);
  const inLedger = new Set(ledger.filter((entry) => entry.kind === 'start').map((entry) => entry.session_id));
  // Ledger order is start order: the order an auditor reads the sessions in.
  const startOrder = new Map(ledger.map((entry, index) => [`${entry.kind} ${entry.session_id}`, index]));
  const exported = chosen.filter((record) => inLedger.has(record.id)).sort((a, b) => (startOrder.get(`start ${a.id}`) ?? 0) - (startOrder.get(`start ${b.id}`) ?? 0));
  if (exported.length === 0) throw new Error(`no sessions in ${reader.file} match ${describeFilter(filter)}`);

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
    filter: definedOnly(filter),
    partial: Object.keys(definedOnly(filter)).length > 0,
    sessions: exported.map((record) => record.id),
    counts: { sessions: exported.length, events: eventCount, ledger: ledger.length, checkpoints: checkpoints.length },
    ledger_head: { n: head.ledger_n, hash: head.ledger_head },
    body_sha256: await sha256Hex(body),
  };
  return `${await signer.signManifest(manifest)}\n${body}`;
}

function matches(record: SessionRecord, filter: BundleFilter): boolean {
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

function describeFilter(filter: BundleFilter): string {
  const parts = Object.entries(definedOnly(filter)).map(([key, value]) => `${key} ${Array.isArray(value) ? value.join(', ') : key === 'resource' ? String(value) : new Date(value as number).toISOString()}`);
  return parts.length > 0 ? `the filter (${parts.join('; ')})` : 'the export (the store has no sessions)';
}
