import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditReader } from '../../../proxy/audit/audit-store.js';
import { exportBundle } from '../../../proxy/audit/bundle-export.js';
import { loadBundleSigner } from '../../../proxy/audit/bundle-signer.js';
import { readPublicKey } from '../../../proxy/audit/signing-key.js';
import { publicKeyLine } from '../../../proxy/common/checkpoint-verify.js';
import { exportCommand } from '../../../proxy/cli/commands/export.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { runCli } from '../../helpers/run-cli.js';

// A real gateway records three sessions and shuts down (signing a checkpoint); its store is
// exported to bundles, which `sluice verify FILE.sluice` checks with no config and no store.

let db: TestDatabase;
let gateway: TestGateway;
let sessions: string[];
let dataDir: string;
let keyLine: string;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.url);
  gateway = await startTestGateway(db, { tls: 'off' });
  for (let i = 0; i < 3; i++) {
    const client = await gateway.connect();
    await client.query('SELECT $1::text AS said', [`session ${i}`]);
    await client.end();
  }
  await gateway.engine.store.flush();
  sessions = (await gateway.engine.store.listSessions({})).map((session) => session.id).reverse();
  await gateway.engine.close();
  dataDir = join(gateway.dir, 'data');
  keyLine = publicKeyLine((await readPublicKey(dataDir)).publicJwk);
});

afterAll(async () => {
  await rm(gateway.dir, { recursive: true, force: true });
  await db?.drop();
});

/** The store exported with `filter`, written to a .sluice file in the gateway's directory. */
async function exported(name: string, filter: Parameters<typeof exportBundle>[2] = {}): Promise<string> {
  const reader = await openAuditReader(dataDir);
  try {
    const file = join(gateway.dir, `${name}.sluice`);
    await writeFile(file, await exportBundle(reader, await loadBundleSigner(dataDir), filter));
    return file;
  } finally {
    await reader.close();
  }
}

describe('sluice verify FILE.sluice', () => {
  it('verifies an exported store offline with the trusted key', async () => {
    const file = await exported('all');
    const result = await runCli(['verify', file, '--key', keyLine]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/verified bundle .*all\.sluice: 3 sessions, \d+ events, 6 ledger entries, 1 checkpoints; last checkpoint \S+ covers ledger entry 6/);
    expect(result.stdout).toContain('key: the one you gave');
  });

  it('says when the signature was checked only with the key the bundle names', async () => {
    const result = await runCli(['verify', await exported('unkeyed')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('signature checked with the key the bundle names, not one you trust; pass --key');
    const json = await runCli(['verify', await exported('json'), '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, keyTrusted: false, manifest: { counts: { sessions: 3 } } });
  });

  it('verifies a bundle of one session, whose ledger still names all three', async () => {
    const file = await exported('one', { sessions: [sessions[1]!] });
    const result = await runCli(['verify', file, '--key', keyLine]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/1 sessions \(filtered\), \d+ events, 6 ledger entries/);
  });

  it('fails a bundle whose body was edited', async () => {
    const file = await exported('edited');
    await writeFile(file, (await readFile(file, 'utf8')).replace('session 1', 'session 7'));
    const result = await runCli(['verify', file, '--key', keyLine]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/verification FAILED \(body\): the bundle was changed after it was signed/);
  });

  it('fails a bundle checked with another key', async () => {
    const result = await runCli(['verify', await exported('other-key'), '--key', `sluice-ed25519:${Buffer.alloc(32, 7).toString('base64url')}`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/verification FAILED \(manifest\): manifest signature does not verify with the given key/);
  });

  it('says so when the file is not there', async () => {
    const result = await runCli(['verify', join(gateway.dir, 'missing.sluice')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/cannot read bundle .*missing\.sluice: no such file/);
  });
});

describe('sluice export', () => {
  // Not registered in main.ts yet: run through the command object, as main would after parsing.
  async function exportCli(values: Record<string, string | boolean | string[]>) {
    let stdout = '';
    let stderr = '';
    const io = { stdout: (text: string) => (stdout += text), stderr: (text: string) => (stderr += text), env: {}, cwd: gateway.dir };
    const code = await exportCommand.run({ values: { config: gateway.configFile, ...values }, positionals: [] }, io);
    return { code, stdout, stderr };
  }

  it('writes the sessions chosen to a bundle that verifies, and keeps an existing file', async () => {
    const first = await exportCli({ output: 'cli.sluice', session: [sessions[0]!, sessions[2]!] });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^wrote .*cli\.sluice: 2 sessions \(filtered\), \d+ events, 6 ledger entries, 1 checkpoints, \d+ bytes\n$/);
    expect((await runCli(['verify', join(gateway.dir, 'cli.sluice'), '--key', keyLine])).code).toBe(0);

    const again = await exportCli({ output: 'cli.sluice' });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/cli\.sluice exists; choose another -o, or pass --force/);
    expect((await exportCli({ output: 'cli.sluice', force: true })).stdout).toMatch(/: 3 sessions, /);
  });

  it('refuses a session id the store does not have', async () => {
    const result = await exportCli({ output: 'none.sluice', session: ['01NOSUCHSESSION'] });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/no session 01NOSUCHSESSION in /);
  });
});
