import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReader, ChainRecords } from '../../../proxy/audit/audit-types.js';
import { exportBundle } from '../../../proxy/audit/bundle-export.js';
import { bundleSigner, loadBundleSigner, type BundleSigner } from '../../../proxy/audit/bundle-signer.js';
import { loadOrCreateSigningKey, type SigningKey } from '../../../proxy/audit/signing-key.js';
import { readManifestUnverified, type BundleManifest } from '../../../proxy/common/bundle-format.js';
import { parseBundle, verifyBundle, type BundleReport } from '../../../proxy/common/bundle-verify.js';
import { keyIdOf, type Ed25519PublicJwk } from '../../../proxy/common/checkpoint-verify.js';
import { ledger, resigned as resignedBy, session, T0 } from './bundle-fixtures.js';

// Bundles are exported from an in-memory store whose chains are built here with node:crypto from
// the spec, and signed with a real gateway key file. Tampering that keeps the body hash and
// re-signs (as someone holding a key would) must still be caught by the chains themselves.

let dir: string;
let key: SigningKey;
let signer: BundleSigner;
let reader: AuditReader;
let full: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-bundle-'));
  key = await loadOrCreateSigningKey(dir);
  signer = await loadBundleSigner(dir);
  const a = session('A', T0, 2);
  const b = session('B', T0 + 10, 4);
  const c = session('C', T0 + 20, 1, true);
  const entries = ledger([
    ['start', 'A', a.events[0]!.hash],
    ['start', 'B', b.events[0]!.hash],
    ['seal', 'A', a.events.at(-1)!.hash],
    ['start', 'C', c.events[0]!.hash],
    ['seal', 'B', b.events.at(-1)!.hash],
  ]);
  const claims = { kid: key.kid, time: T0 + 200, ledger_n: 5, ledger_head: entries[4]!.entry_hash };
  // Cast: the store's chain records may carry more (retention's prunes) than this store needs.
  const chain = {
    prunes: [],
    sessions: [a, b, c].map(({ record, events }) => ({ id: record.id, status: record.status, finalHash: record.status === 'open' ? null : events.at(-1)!.hash })),
    ledger: entries,
    checkpoints: [{ n: 1, time: claims.time, ledgerN: 5, ledgerHead: claims.ledger_head, kid: key.kid, jws: await key.sign(claims) }],
  } as ChainRecords;
  const all = [c, b, a];
  reader = {
    file: '/memory/audit.sqlite',
    listSessions: async () => all.map((s) => s.record),
    getSession: async (id) => all.find((s) => s.record.id === id)?.record,
    listEvents: async (id) => all.find((s) => s.record.id === id)?.events ?? [],
    readChain: async () => chain,
    close: async () => undefined,
  };
  full = await exportBundle(reader, signer, {});
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** resigned(), by this file's gateway unless told. */
const resigned = (text: string, edit: Parameters<typeof resignedBy>[1], manifestEdit: Partial<BundleManifest> = {}, by: BundleSigner = signer) => resignedBy(text, edit, manifestEdit, by);

const isEvent = (record: Record<string, unknown>, session: string, seq?: number) => record.t === 'event' && record.session_id === session && (seq === undefined || record.seq === seq);

function problem(report: BundleReport): { what: string; message: string } {
  if (report.ok) throw new Error('expected the bundle to fail verification');
  return report.problem;
}

describe('verifyBundle', () => {
  it('passes an untouched bundle, with the key trusted only when one is given', async () => {
    const trusted = await verifyBundle(full, key.publicJwk);
    expect(trusted.ok && trusted.keyTrusted).toBe(true);
    if (!trusted.ok) throw new Error(trusted.problem.message);
    expect(trusted.manifest.sessions).toEqual(['A', 'B', 'C']);
    expect(trusted.manifest.counts).toEqual({ sessions: 3, events: 4 + 6 + 2, ledger: 5, checkpoints: 1 });
    expect(trusted.manifest.partial).toBe(false);
    expect(trusted.events).toBe(12);
    const named = await verifyBundle(full);
    expect(named.ok && named.keyTrusted).toBe(false);
    expect(named.ok).toBe(true);
  });

  it('passes a partial bundle of one session, whose ledger still names the others', async () => {
    const partial = await exportBundle(reader, signer, { sessions: ['B'] });
    const report = await verifyBundle(partial, key.publicJwk);
    if (!report.ok) throw new Error(report.problem.message);
    expect(report.manifest).toMatchObject({ partial: true, sessions: ['B'], filter: { sessions: ['B'] }, counts: { sessions: 1, events: 6, ledger: 5, checkpoints: 1 } });
    const since = await exportBundle(reader, signer, { since: T0 + 5, resource: 'app' });
    expect(readManifestUnverified(since.split('\n')[0]!).sessions).toEqual(['B']);
  });

  it('finds the body changed after signing', async () => {
    const edited = full.replace('SELECT 1', 'SELECT 9');
    expect(problem(await verifyBundle(edited, key.publicJwk))).toEqual({ what: 'body', message: 'the bundle was changed after it was signed: its body does not match the manifest' });
  });

  it('finds an event edited, even in a re-signed bundle', async () => {
    const edited = await resigned(full, (records) => records.map((r) => (isEvent(r, 'B', 3) ? { ...r, payload: { sql: 'SELECT harmless' } } : r)));
    expect(problem(await verifyBundle(edited, key.publicJwk))).toMatchObject({ what: 'session', session_id: 'B', seq: 3, message: 'event 3 of session B (query) was changed after it was recorded: its hash does not match its content' });
  });

  it('finds an event removed', async () => {
    const edited = await resigned(full, (records) => records.filter((r) => !isEvent(r, 'B', 2)));
    expect(problem(await verifyBundle(edited, key.publicJwk)).message).toMatch(/^event 2 of session B is missing/);
  });

  it('finds two events reordered', async () => {
    const edited = await resigned(full, (records) => {
      const at = records.findIndex((r) => isEvent(r, 'B', 2));
      const swapped = [...records];
      [swapped[at], swapped[at + 1]] = [records[at + 1]!, records[at]!];
      return swapped;
    });
    expect(problem(await verifyBundle(edited, key.publicJwk)).message).toBe('session B: events out of order: seq 3 before 2');
  });

  it('finds a session the manifest lists removed from the bundle', async () => {
    const edited = await resigned(full, (records) => records.filter((r) => r.id !== 'B' && !isEvent(r, 'B')));
    expect(problem(await verifyBundle(edited, key.publicJwk))).toMatchObject({ what: 'session', message: 'the manifest lists session B, which is not in the bundle' });
  });

  it('finds a session removed from a full bundle and its manifest, through the ledger', async () => {
    const edited = await resigned(full, (records) => records.filter((r) => r.id !== 'B' && !isEvent(r, 'B')), { sessions: ['A', 'C'] });
    expect(problem(await verifyBundle(edited, key.publicJwk))).toMatchObject({ what: 'ledger', ledger_n: 2, message: 'the ledger records session B, which is missing from the bundle (deleted)' });
  });

  it('finds the manifest edited without re-signing', async () => {
    const [header, payload, signature] = full.split('\n')[0]!.split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as BundleManifest;
    const forged = [header, Buffer.from(JSON.stringify({ ...claims, sessions: ['A', 'C'] })).toString('base64url'), signature].join('.');
    const edited = full.replace(/^[^\n]*/, forged);
    expect(problem(await verifyBundle(edited, key.publicJwk))).toMatchObject({ what: 'manifest', message: expect.stringMatching(/^manifest signature does not verify with the given key/) });
    expect(problem(await verifyBundle(edited)).message).toMatch(/^manifest signature does not verify with the key the bundle names .*: the manifest was changed after it was signed/);
  });

  it('refuses a bundle checked with another key', async () => {
    const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
    const report = await verifyBundle(full, { kty: 'OKP', crv: 'Ed25519', x: other.x! });
    expect(problem(report)).toMatchObject({ what: 'manifest', message: expect.stringMatching(/^manifest signature does not verify with the given key \S+: the bundle was signed by another key/) });
  });

  it('finds a bundle re-signed with another key at its checkpoints, even without --key', async () => {
    const pair = generateKeyPairSync('ed25519');
    const x = pair.publicKey.export({ format: 'jwk' }).x!;
    const jwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x };
    const forger = bundleSigner(pair.privateKey, await keyIdOf(jwk), jwk);
    const edited = await resigned(full, (records) => records.map((r) => (isEvent(r, 'A', 2) ? { ...r, payload: { sql: 'SELECT 2' } } : r)), {}, forger);
    // Its events still break the chain; with them intact, only the checkpoints give it away.
    expect(problem(await verifyBundle(edited)).what).toBe('session');
    const intact = await resigned(full, (records) => records, {}, forger);
    expect(problem(await verifyBundle(intact))).toMatchObject({ what: 'checkpoint', message: expect.stringMatching(/^checkpoint 1: checkpoint signature does not verify with key/) });
  });
});

describe('parseBundle', () => {
  it('reads the manifest and records of a bundle', () => {
    const parsed = parseBundle(full);
    expect(parsed.manifest.sessions).toEqual(['A', 'B', 'C']);
    expect(parsed.sessions.map((s) => [s.record.id, s.events.length])).toEqual([['A', 4], ['B', 6], ['C', 2]]);
    expect(parsed.ledger).toHaveLength(5);
    expect(parsed.checkpoints[0]).toMatchObject({ n: 1, ledger_n: 5 });
  });

  it('names the line of a malformed record', () => {
    const lines = full.split('\n');
    lines[3] = '{"t":"event",';
    expect(() => parseBundle(lines.join('\n'))).toThrow('line 4: not a JSON value');
    lines[3] = JSON.stringify({ t: 'ledger', n: 1 });
    expect(() => parseBundle(lines.join('\n'))).toThrow(/^line 4: a ledger record needs/);
    expect(() => parseBundle('not a bundle\n')).toThrow('line 1: the manifest is not a compact JWS');
  });
});
