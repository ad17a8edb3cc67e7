import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReader } from '../../../proxy/audit/audit-types.js';
import { exportBundle } from '../../../proxy/audit/bundle-export.js';
import { loadBundleSigner, type BundleSigner } from '../../../proxy/audit/bundle-signer.js';
import { openPostgresAuditReader, openPostgresAuditStore, type PostgresAuditStore } from '../../../proxy/audit/postgres/postgres-store.js';
import { loadOrCreateSigningKey, type SigningKey } from '../../../proxy/audit/signing-key.js';
import { verifyBundle } from '../../../proxy/common/bundle-verify.js';
import { publicKeyLine } from '../../../proxy/common/checkpoint-verify.js';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { runCli } from '../../helpers/run-cli.js';
import { sessionStart } from '../../unit/audit/audit-fixtures.js';

// Two gateways record into one PostgreSQL store, each with its own key and ledger, and checkpoint
// it. Gateway A (whose data_dir the config names) exports both gateways' sessions: one bundle per
// recording gateway, all signed with A's key, B's carrying B's key as ledger_key; each verifies
// offline, in code and through `sluice export` + `sluice verify FILE`.

interface Recorder {
  readonly key: SigningKey;
  readonly store: PostgresAuditStore;
  /** Its sessions' ids, in start order. */
  readonly sessions: string[];
}

let db: TestDatabase;
let config: GatewayConfigFile;
let otherDir: string;
let a: Recorder;
let b: Recorder;
let signer: BundleSigner;
let reader: AuditReader;

const counters = { statements: 1, errors: 0, rows: 1 };

async function recorder(dataDir: string, name: string): Promise<Recorder> {
  const key = await loadOrCreateSigningKey(dataDir);
  const store = await openPostgresAuditStore({ connectionString: db.url, durability: 'batched', gateway: { id: key.kid, name, publicKey: publicKeyLine(key.publicJwk) } });
  return { key, store, sessions: [] };
}

/** One session on `gateway`: a statement, and an end unless `open`. */
async function record(gateway: Recorder, resource: string, open = false): Promise<void> {
  const recording = gateway.store.beginSession(sessionStart({ resource }));
  gateway.sessions.push(recording.id);
  await recording.event('query', { protocol: 'simple', text: `SELECT '${resource}'`, duration_ms: 0.1, rows: 1, outcome: 'ok', tags: ['SELECT 1'] });
  if (!open) await recording.end('closed', counters);
}

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  config = await writeGatewayConfig(db, { tls: 'off', auditStoreUrl: db.url });
  otherDir = await mkdtemp(join(tmpdir(), 'sluice-shared-export-'));
  a = await recorder(join(config.dir, 'data'), 'gateway-a');
  b = await recorder(otherDir, 'gateway-b');
  // Interleaved, so each ledger names only its own gateway's sessions among the other's.
  await record(a, 'app');
  await record(b, 'app');
  await record(b, 'reports');
  await record(a, 'reports');
  await record(b, 'app');
  await Promise.all([a.store.flush(), b.store.flush()]);
  await a.store.checkpoint(a.key);
  await b.store.checkpoint(b.key);
  // Recorded after B's checkpoint, and still open: in the bundle, past the last checkpoint.
  await record(b, 'app', true);
  await b.store.flush();
  signer = await loadBundleSigner(join(config.dir, 'data'));
  reader = await openPostgresAuditReader(db.url);
});

afterAll(async () => {
  await reader?.close();
  await Promise.all([a?.store.close(), b?.store.close()]);
  await Promise.all([config && rm(config.dir, { recursive: true, force: true }), otherDir && rm(otherDir, { recursive: true, force: true })]);
  await db?.drop();
});

describe('exporting a store two gateways share', () => {
  it('writes one bundle per recording gateway with one exporter’s key, and each verifies offline', async () => {
    const own = await exportBundle(reader, signer, {}, { gateway: a.key.kid });
    const other = await exportBundle(reader, signer, {}, { gateway: b.key.kid });

    const ownReport = await verifyBundle(own, a.key.publicJwk);
    if (!ownReport.ok) throw new Error(ownReport.problem.message);
    expect(ownReport.manifest.ledger_key).toBeUndefined();
    expect(ownReport).toMatchObject({ keyTrusted: true, ledgerKid: a.key.kid, manifest: { sessions: a.sessions, partial: false, counts: { sessions: 2, ledger: 4, checkpoints: 1 } } });

    const otherReport = await verifyBundle(other, a.key.publicJwk);
    if (!otherReport.ok) throw new Error(otherReport.problem.message);
    expect(otherReport).toMatchObject({
      keyTrusted: true,
      ledgerKid: b.key.kid,
      manifest: { kid: a.key.kid, gateway_key: publicKeyLine(a.key.publicJwk), ledger_key: publicKeyLine(b.key.publicJwk), sessions: b.sessions, partial: false, counts: { sessions: 4, ledger: 7, checkpoints: 1 } },
    });
    expect(otherReport.checkpoints[0]).toMatchObject({ kid: b.key.kid, ledger_n: 6 });
    // Signed by A: B's key vouches for B's ledger, not for the manifest.
    expect(await verifyBundle(other, b.key.publicJwk)).toMatchObject({ ok: false, problem: { what: 'manifest' } });
  });

  it('asks which gateway when given none, since each has its own ledger', async () => {
    await expect(exportBundle(reader, signer)).rejects.toThrow(/holds the sessions of 2 gateways, each with its own ledger: export one gateway at a time/);
  });
});

describe('sluice export on a shared store', () => {
  const cli = (...argv: string[]) => runCli(['export', '--config', config.configFile, ...argv], { cwd: config.dir });
  const verify = (file: string) => runCli(['verify', join(config.dir, file), '--key', publicKeyLine(a.key.publicJwk)]);

  it('writes FILE-<kid>.sluice per gateway when the sessions span two, each verifying with `sluice verify`', async () => {
    const result = await cli('-o', 'all.sluice');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const files = { a: `all-${a.key.kid.slice(0, 8)}.sluice`, b: `all-${b.key.kid.slice(0, 8)}.sluice` };
    expect(result.stdout).toContain('the sessions chosen were recorded by 2 gateways, and a bundle carries one gateway\'s ledger: writing one bundle per gateway\n');
    expect(result.stdout).toContain(`wrote ${join(config.dir, files.a)} (gateway ${a.key.kid}, gateway-a): 2 sessions, `);
    expect(result.stdout).toContain(`wrote ${join(config.dir, files.b)} (gateway ${b.key.kid}, gateway-b): 4 sessions, `);
    expect((await readdir(config.dir)).filter((name) => name.endsWith('.sluice')).sort()).toEqual([files.a, files.b].sort());
    for (const file of [files.a, files.b]) {
      const verified = await verify(file);
      expect(verified.stderr).toBe('');
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain('key: the one you gave');
    }
    expect((await verify(files.a)).stdout).not.toContain('ledger and checkpoints of gateway');
    expect((await verify(files.b)).stdout).toContain(`; ledger and checkpoints of gateway ${b.key.kid}, whose key the signed manifest names`);

    const again = await cli('-o', 'all.sluice');
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/all-\S+\.sluice exists; choose another -o, or pass --force to replace it/);
    expect((await cli('-o', 'all.sluice', '--force')).code).toBe(0);
  });

  it('writes one bundle, under the name given, when the sessions chosen come from one gateway', async () => {
    const result = await cli('-o', 'b-app.sluice', '--resource', 'reports', '--session', b.sessions[1]!);
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(new RegExp(`^wrote \\S+b-app\\.sluice \\(gateway ${b.key.kid}, gateway-b\\): 1 sessions \\(filtered\\), \\d+ events, 7 ledger entries, 1 checkpoints, \\d+ bytes\\n$`));
    expect((await verify('b-app.sluice')).code).toBe(0);
  });

  it('--gateway (a prefix of its key id) exports one gateway’s sessions only', async () => {
    const result = await cli('-o', 'only-b.sluice', '--gateway', b.key.kid.slice(0, 8));
    expect(result.stderr).toBe('');
    expect(result.stdout).toMatch(/^wrote \S+only-b\.sluice \(gateway \S+, gateway-b\): 4 sessions, /);
    expect((await verify('only-b.sluice')).code).toBe(0);
    const unknown = await cli('-o', 'none.sluice', '--gateway', 'zzzzzzzz');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`--gateway zzzzzzzz names no gateway of `);
    const elsewhere = await cli('-o', 'none.sluice', '--gateway', b.key.kid, '--session', a.sessions[0]!);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toContain(`session ${a.sessions[0]} was recorded by gateway ${a.key.kid}, not ${b.key.kid}`);
  });
});
