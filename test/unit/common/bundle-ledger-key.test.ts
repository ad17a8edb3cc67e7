import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReader, ChainRecords, EventRecord, GatewayRecord, SessionRecord } from '../../../proxy/audit/audit-types.js';
import { exportBundle } from '../../../proxy/audit/bundle-export.js';
import { loadBundleSigner, type BundleSigner } from '../../../proxy/audit/bundle-signer.js';
import { loadOrCreateSigningKey, type SigningKey } from '../../../proxy/audit/signing-key.js';
import { readManifestUnverified, type BundleManifest } from '../../../proxy/common/bundle-format.js';
import { verifyBundle, type BundleReport } from '../../../proxy/common/bundle-verify.js';
import { canonicalJson } from '../../../proxy/common/canonical-json.js';
import { publicKeyLine } from '../../../proxy/common/checkpoint-verify.js';
import { ledger, resigned, session, sha, T0 } from './bundle-fixtures.js';

// A store two gateways share (docs/audit-format.md "Bundles", ledger_key): gateway B recorded
// sessions, signed their ledger's checkpoint and a retention record with its key; gateway A
// exports them, signing the manifest with its own. The bundle names B's key as ledger_key.

interface Gateway {
  readonly dir: string;
  readonly key: SigningKey;
  readonly signer: BundleSigner;
  readonly record: GatewayRecord;
}

let a: Gateway;
let b: Gateway;
let c: Gateway;
let reader: AuditReader;
/** Gateway B's sessions, exported by A. */
let bundle: string;

async function gateway(name: string): Promise<Gateway> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bundle-gw-'));
  const key = await loadOrCreateSigningKey(dir);
  const record = { id: key.kid, name, publicKey: publicKeyLine(key.publicJwk), firstSeen: T0, lastSeen: T0 };
  return { dir, key, signer: await loadBundleSigner(dir), record };
}

/** A reader over sessions of several gateways, each with its own chain, as the PostgreSQL store reads them. */
function sharedReader(gateways: readonly GatewayRecord[], sessions: readonly { record: SessionRecord; events: EventRecord[] }[], chains: ReadonlyMap<string, ChainRecords>): AuditReader {
  return {
    file: 'db.example:5432/audit',
    gateways: async () => [...gateways],
    listSessions: async () => sessions.map((s) => s.record),
    getSession: async (id) => sessions.find((s) => s.record.id === id)?.record,
    listEvents: async (id) => sessions.find((s) => s.record.id === id)?.events ?? [],
    readChain: async (id) => {
      const chain = id === undefined ? undefined : chains.get(id);
      if (!chain) throw new Error(`no chain for gateway ${String(id)}`);
      return chain;
    },
    close: async () => undefined,
  };
}

beforeAll(async () => {
  [a, b, c] = await Promise.all([gateway('gw-a'), gateway('gw-b'), gateway('gw-c')]);
  // B: P (removed by retention since), B1 and B2. A: A1.
  const p = session('P', T0 - 100, 1, false, { gateway: b.key.kid });
  const b1 = session('B1', T0, 2, false, { gateway: b.key.kid });
  const b2 = session('B2', T0 + 10, 3, false, { gateway: b.key.kid });
  const a1 = session('A1', T0 + 5, 1, false, { gateway: a.key.kid });
  const first = (s: typeof p) => s.events[0]!.hash;
  const last = (s: typeof p) => s.events.at(-1)!.hash;
  const bLedger = ledger([
    ['start', 'P', first(p)],
    ['seal', 'P', last(p)],
    ['start', 'B1', first(b1)],
    ['start', 'B2', first(b2)],
    ['seal', 'B1', last(b1)],
    ['seal', 'B2', last(b2)],
  ]);
  const pruned = canonicalJson([{ id: 'P', first: first(p), last: last(p) }]);
  const pruneJws = await b.key.signPrune({ kid: b.key.kid, time: T0 + 300, horizon: T0 - 1, count: 1, sessions_sha256: sha(pruned) });
  const bClaims = { kid: b.key.kid, time: T0 + 200, ledger_n: 6, ledger_head: bLedger[5]!.entry_hash };
  const aLedger = ledger([
    ['start', 'A1', first(a1)],
    ['seal', 'A1', last(a1)],
  ]);
  const aClaims = { kid: a.key.kid, time: T0 + 200, ledger_n: 2, ledger_head: aLedger[1]!.entry_hash };
  const sealed = (s: typeof p) => ({ id: s.record.id, status: s.record.status, finalHash: last(s) });
  const chains = new Map<string, ChainRecords>([
    [
      b.key.kid,
      {
        sessions: [b1, b2].map(sealed),
        ledger: bLedger,
        checkpoints: [{ n: 1, time: bClaims.time, ledgerN: 6, ledgerHead: bClaims.ledger_head, kid: b.key.kid, jws: await b.key.sign(bClaims) }],
        prunes: [{ n: 1, horizon: T0 - 1, sessions: pruned, jws: pruneJws }],
      },
    ],
    [
      a.key.kid,
      {
        sessions: [a1].map(sealed),
        ledger: aLedger,
        checkpoints: [{ n: 1, time: aClaims.time, ledgerN: 2, ledgerHead: aClaims.ledger_head, kid: a.key.kid, jws: await a.key.sign(aClaims) }],
        prunes: [],
      },
    ],
  ]);
  reader = sharedReader([a.record, b.record], [b2, a1, b1], chains);
  bundle = await exportBundle(reader, a.signer, {}, { gateway: b.key.kid });
});

afterAll(async () => {
  await Promise.all([a, b, c].map((g) => g && rm(g.dir, { recursive: true, force: true })));
});

const manifestOf = (text: string): BundleManifest => readManifestUnverified(text.split('\n')[0]!);

function problem(report: BundleReport): { what: string; message: string } {
  if (report.ok) throw new Error('expected the bundle to fail verification');
  return report.problem;
}

describe('a bundle of another gateway’s ledger (ledger_key)', () => {
  it('verifies with the exporter’s key, checking checkpoints and retention records with the recording gateway’s', async () => {
    const manifest = manifestOf(bundle);
    expect(manifest).toMatchObject({ kid: a.key.kid, gateway_key: publicKeyLine(a.key.publicJwk), ledger_key: publicKeyLine(b.key.publicJwk), sessions: ['B1', 'B2'], partial: false });
    expect(manifest.counts).toEqual({ sessions: 2, events: 4 + 5, ledger: 6, checkpoints: 1 });
    const report = await verifyBundle(bundle, a.key.publicJwk);
    if (!report.ok) throw new Error(report.problem.message);
    expect(report).toMatchObject({ keyTrusted: true, ledgerKid: b.key.kid });
    const untrusted = await verifyBundle(bundle);
    expect(untrusted.ok && !untrusted.keyTrusted && untrusted.ledgerKid === b.key.kid).toBe(true);
  });

  it('writes no ledger_key when the gateway exports its own ledger, as bundles always were', async () => {
    const own = await exportBundle(reader, a.signer, {}, { gateway: a.key.kid });
    const manifest = manifestOf(own);
    expect(Object.keys(manifest)).not.toContain('ledger_key');
    expect(manifest.sessions).toEqual(['A1']);
    const report = await verifyBundle(own, a.key.publicJwk);
    expect(report.ok && report.ledgerKid === a.key.kid).toBe(true);
    // Signed by B, B's sessions: B's own ledger, no ledger_key either.
    expect(Object.keys(manifestOf(await exportBundle(reader, b.signer, {}, { gateway: b.key.kid })))).not.toContain('ledger_key');
  });

  it('fails, naming the manifest’s ledger_key, when it is swapped for another key and re-signed', async () => {
    const swapped = await resigned(bundle, (records) => records, { ledger_key: publicKeyLine(c.key.publicJwk) }, a.signer);
    // Retention records are checked before checkpoints: the first signature to fail is B's record's.
    expect(problem(await verifyBundle(swapped, a.key.publicJwk))).toEqual({
      what: 'ledger',
      message: `retention record 1: retention record signature does not verify with key ${c.key.kid}: signed by another key or changed. Key ${c.key.kid} is the manifest's ledger_key, the gateway whose ledger the bundle says it carries: the bundle names the wrong gateway's key, or its ledger's signatures were changed`,
    });
    // A partial bundle without the retention record gets as far as the checkpoint.
    const partial = await exportBundle(reader, a.signer, { sessions: ['B2'] }, { gateway: b.key.kid });
    const noPrunes = await resigned(partial, (records) => records.filter((r) => r.t !== 'prune'), { ledger_key: publicKeyLine(c.key.publicJwk) }, a.signer);
    expect(problem(await verifyBundle(noPrunes, a.key.publicJwk))).toMatchObject({
      what: 'checkpoint',
      message: `checkpoint 1: checkpoint signature does not verify with key ${c.key.kid}: signed by another key or changed; its record says key ${b.key.kid} signed it. Key ${c.key.kid} is the manifest's ledger_key, the gateway whose ledger the bundle says it carries: the bundle names the wrong gateway's key, or its ledger's signatures were changed`,
    });
  });

  it('fails when the ledger_key is dropped, so the ledger is checked with the exporter’s key', async () => {
    const dropped = await resigned(bundle, (records) => records, { ledger_key: undefined }, a.signer);
    expect(Object.keys(manifestOf(dropped))).not.toContain('ledger_key');
    expect(problem(await verifyBundle(dropped, a.key.publicJwk))).toMatchObject({ what: 'ledger', message: expect.stringMatching(`^retention record 1: retention record signature does not verify with key ${a.key.kid}: signed by another key or changed$`) });
  });

  it('fails when the ledger_key is changed without re-signing: the signature covers it', async () => {
    const [header, payload, signature] = bundle.split('\n')[0]!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as BundleManifest;
    const forged = [header, Buffer.from(canonicalJson({ ...claims, ledger_key: publicKeyLine(c.key.publicJwk) })).toString('base64url'), signature].join('.');
    const edited = bundle.replace(/^[^\n]*/, forged);
    expect(problem(await verifyBundle(edited, a.key.publicJwk))).toMatchObject({ what: 'manifest', message: expect.stringMatching(/^manifest signature does not verify with the given key/) });
  });

  it('fails a ledger_key that is not a key line', async () => {
    const unreadable = await resigned(bundle, (records) => records, { ledger_key: 'sluice-ed25519:short' }, a.signer);
    expect(problem(await verifyBundle(unreadable, a.key.publicJwk))).toMatchObject({ what: 'manifest', message: expect.stringMatching(/^the manifest's ledger_key cannot be read: the public key is not 32 bytes/) });
    const jwk = await resigned(bundle, (records) => records, { ledger_key: JSON.stringify(b.key.publicJwk) }, a.signer);
    expect(problem(await verifyBundle(jwk, a.key.publicJwk))).toMatchObject({ what: 'manifest', message: expect.stringMatching(/^the manifest's ledger_key is not a key line/) });
    const wrongType = await resigned(bundle, (records) => records, { ledger_key: 7 as unknown as string }, a.signer);
    expect(problem(await verifyBundle(wrongType, a.key.publicJwk))).toEqual({ what: 'manifest', message: 'line 1: the manifest has missing or wrong ledger_key' });
  });

  it('still finds tampering: an event edited, a ledger entry rewritten, a checkpoint re-signed by the exporter', async () => {
    const event = await resigned(bundle, (records) => records.map((r) => (r.t === 'event' && r.session_id === 'B2' && r.seq === 2 ? { ...r, payload: { sql: 'SELECT harmless' } } : r)), {}, a.signer);
    expect(problem(await verifyBundle(event, a.key.publicJwk))).toMatchObject({ what: 'session', session_id: 'B2', seq: 2 });
    const entry = await resigned(bundle, (records) => records.map((r) => (r.t === 'ledger' && r.n === 3 ? { ...r, time: Number(r.time) + 1 } : r)), {}, a.signer);
    expect(problem(await verifyBundle(entry, a.key.publicJwk))).toMatchObject({ what: 'ledger', ledger_n: 3 });
    // The exporter holds a key, but not B's: a checkpoint it signs itself does not pass as B's.
    const parsed = JSON.parse(bundle.split('\n').find((line) => line.startsWith('{"t":"checkpoint"'))!) as { time: number; ledger_n: number; ledger_head: string };
    const byA = await a.key.sign({ kid: a.key.kid, time: parsed.time, ledger_n: parsed.ledger_n, ledger_head: parsed.ledger_head });
    const checkpoint = await resigned(bundle, (records) => records.map((r) => (r.t === 'checkpoint' ? { ...r, kid: a.key.kid, jws: byA } : r)), {}, a.signer);
    expect(problem(await verifyBundle(checkpoint, a.key.publicJwk))).toMatchObject({ what: 'checkpoint', message: expect.stringMatching(`^checkpoint 1: checkpoint signature does not verify with key ${b.key.kid}`) });
    // The body changed after signing, ledger_key or not.
    expect(problem(await verifyBundle(bundle.replace('session B1', 'session B9'), a.key.publicJwk)).what).toBe('body');
  });
});

describe('exportBundle from a store several gateways share', () => {
  it('exports only the sessions the gateway recorded, and its ledger', async () => {
    const manifest = manifestOf(await exportBundle(reader, b.signer, { resource: 'app' }, { gateway: b.key.kid }));
    expect(manifest.sessions).toEqual(['B1', 'B2']);
    expect(manifest.counts.ledger).toBe(6);
  });

  it('asks which gateway when the store has several', async () => {
    await expect(exportBundle(reader, a.signer)).rejects.toThrow(`db.example:5432/audit holds the sessions of 2 gateways, each with its own ledger: export one gateway at a time (gateways: ${a.key.kid} (gw-a), ${b.key.kid} (gw-b))`);
    await expect(exportBundle(reader, a.signer, {}, { gateway: c.key.kid })).rejects.toThrow(`no gateway ${c.key.kid} in db.example:5432/audit`);
  });

  it('refuses a session another gateway recorded, saying whose it is', async () => {
    await expect(exportBundle(reader, a.signer, { sessions: ['B1', 'A1'] }, { gateway: b.key.kid })).rejects.toThrow(`session A1 was recorded by gateway ${a.key.kid}, not ${b.key.kid}`);
  });

  it('refuses a gateway whose registered key is not the one its id names', async () => {
    const lying = sharedReader([a.record, { ...b.record, publicKey: c.record.publicKey }], [], new Map());
    await expect(exportBundle(lying, a.signer, {}, { gateway: b.key.kid })).rejects.toThrow(`gateway ${b.key.kid} (gw-b) registered the public key of key ${c.key.kid}`);
  });

  it('takes the signer’s own id for a store of one gateway (SQLite), and no other', async () => {
    const { gateways: _, ...single } = sharedReader([], [], new Map());
    await expect(exportBundle(single, a.signer, {}, { gateway: b.key.kid })).rejects.toThrow(`is the store of one gateway, whose key is ${a.key.kid}; it holds no sessions of gateway ${b.key.kid}`);
  });
});
