import { createHash } from 'node:crypto';
import type { EventRecord, SessionRecord } from '../../../proxy/audit/audit-types.js';
import type { BundleSigner } from '../../../proxy/audit/bundle-signer.js';
import { GENESIS_HASH, type LedgerEntry } from '../../../proxy/common/audit-chain-types.js';
import { readManifestUnverified, type BundleManifest } from '../../../proxy/common/bundle-format.js';
import { canonicalJson } from '../../../proxy/common/canonical-json.js';

// Stores for bundle tests, built here with node:crypto from the spec (docs/audit-format.md)
// rather than by the code under test.

export const sha = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
export const T0 = 1_700_000_000_000;

/** One session's record and chained events; `open` leaves it unsealed. */
export function session(id: string, startedAt: number, statements: number, open = false, extra: Partial<SessionRecord> = {}): { record: SessionRecord; events: EventRecord[] } {
  const kinds = ['connect', ...Array.from({ length: statements }, () => 'query'), ...(open ? [] : ['disconnect'])] as EventRecord['kind'][];
  const events: EventRecord[] = [];
  let prev = GENESIS_HASH;
  kinds.forEach((kind, i) => {
    const fields = { session_id: id, seq: i + 1, time: (startedAt + i) * 1000, kind, payload: { sql: `SELECT ${i}`, note: `session ${id}` } };
    const hash = sha(prev + canonicalJson(fields));
    events.push({ sessionId: id, seq: fields.seq, time: fields.time, kind, payload: fields.payload, prevHash: prev, hash });
    prev = hash;
  });
  const record: SessionRecord = {
    id,
    resource: id === 'C' ? 'other' : 'app',
    protocol: 'postgres',
    identity: { subject: 'ci-job', issuer: 'static', method: 'token', groups: ['ci'] },
    clientAddress: '127.0.0.1',
    application: null,
    startedAt,
    endedAt: open ? null : startedAt + kinds.length,
    status: open ? 'open' : 'closed',
    counters: { statements, errors: 0, rows: statements },
    ...extra,
  };
  return { record, events };
}

/** A ledger of the given entries, chained. */
export function ledger(records: readonly (readonly [LedgerEntry['kind'], string, string])[]): LedgerEntry[] {
  let prev = GENESIS_HASH;
  return records.map(([kind, sessionId, hash], i) => {
    const fields = { n: i + 1, kind, session_id: sessionId, hash, time: (T0 + 100 + i) * 1000 };
    const entry = { ...fields, prev, entry_hash: sha(prev + canonicalJson(fields)) };
    prev = entry.entry_hash;
    return entry;
  });
}

/** The bundle's body lines as objects, edited, with counts and body_sha256 fixed and re-signed by `by`. */
export async function resigned(text: string, edit: (records: Record<string, unknown>[]) => Record<string, unknown>[], manifestEdit: Partial<BundleManifest>, by: BundleSigner): Promise<string> {
  const [first, ...rest] = text.split('\n');
  const manifest = readManifestUnverified(first!);
  const records = edit(rest.filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>));
  const body = records.map((record) => `${JSON.stringify(record)}\n`).join('');
  const count = (t: string) => records.filter((record) => record.t === t).length;
  const counts = { sessions: count('session'), events: count('event'), ledger: count('ledger'), checkpoints: count('checkpoint') };
  const kid = by.kid;
  const gateway_key = `sluice-ed25519:${by.publicJwk.x}`;
  return `${await by.signManifest({ ...manifest, kid, gateway_key, counts, body_sha256: sha(body), ...manifestEdit })}\n${body}`;
}
