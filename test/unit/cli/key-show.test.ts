import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey, type SigningKey } from '../../../proxy/audit/signing-key.js';
import { parsePublicKey, verifyCheckpoint } from '../../../proxy/common/checkpoint-verify.js';
import { runCli } from '../../helpers/run-cli.js';

// The secret is absent: the public key is read where resource credentials may not be.
const CONFIG = ['data_dir: ./data', 'resources:', '  - name: prod-db', '    type: postgres', '    upstream: postgres://app@db.internal:5432/app', '    password: ${env:PROD_DB_PASSWORD}', ''].join('\n');

let dir: string;
let configFile: string;
let key: SigningKey;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-key-show-'));
  configFile = join(dir, 'sluice.yaml');
  await writeFile(configFile, CONFIG);
  key = await loadOrCreateSigningKey(join(dir, 'data'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sluice key show', () => {
  it('prints the one-line key, the key id and the PEM, without needing the config’s secrets', async () => {
    const { code, stdout, stderr } = await runCli(['key', 'show', '--config', configFile]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe(`sluice-ed25519:${key.publicJwk.x}\nkid: ${key.kid}\n\n${key.publicPem.trimEnd()}\n`);
    // What it prints is what a verifier needs.
    const jws = await key.sign({ kid: key.kid, time: 1, ledger_n: 1, ledger_head: 'c'.repeat(64) });
    expect((await verifyCheckpoint(jws, parsePublicKey(stdout.split('\n', 1)[0]!))).kid).toBe(key.kid);
  });

  it('prints {kid, jwk, line, pem} with --json, finding the config through $SLUICE_CONFIG', async () => {
    const { code, stdout } = await runCli(['key', 'show', '--json'], { env: { SLUICE_CONFIG: configFile } });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ kid: key.kid, jwk: key.publicJwk, line: `sluice-ed25519:${key.publicJwk.x}`, pem: key.publicPem });
  });

  it('fails with exit code 1 and says so when the gateway has not made a key yet', async () => {
    const empty = join(dir, 'empty.yaml');
    await writeFile(empty, CONFIG.replace('./data', './nothing-here'));
    const { code, stdout, stderr } = await runCli(['key', 'show', '--config', empty]);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toBe(`sluice: no signing key in ${join(dir, 'nothing-here')} yet: it is created when the gateway first starts\n`);
  });

  it('lists itself under `sluice key`', async () => {
    const { code, stderr } = await runCli(['key']);
    expect(code).toBe(2);
    expect(stderr).toBe("sluice: 'key' is not a command; try one of: key show\n");
  });
});
