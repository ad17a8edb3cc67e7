import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey, readPublicKey, SIGNING_KEY_FILE } from '../../../proxy/audit/signing-key.js';
import type { CheckpointClaims } from '../../../proxy/common/audit-chain-types.js';
import { parsePublicKey, publicKeyLine, verifyCheckpoint } from '../../../proxy/common/checkpoint-verify.js';

let dir: string;
let dataDir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-signing-key-'));
  dataDir = join(dir, 'data');
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function claimsFor(kid: string): CheckpointClaims {
  return { kid, time: 1_700_000_000_000, ledger_n: 7, ledger_head: 'ab'.repeat(32) };
}

/** The JWS with its payload swapped for `claims`, signature untouched. */
function withPayload(jws: string, claims: object): string {
  const [header, , signature] = jws.split('.');
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

describe('loadOrCreateSigningKey', () => {
  it('creates an Ed25519 PKCS#8 key readable only by its owner on first use', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    const file = join(dataDir, SIGNING_KEY_FILE);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const raw = Buffer.from(key.publicJwk.x, 'base64url');
    expect(raw).toHaveLength(32);
    expect(key.kid).toBe(createHash('sha256').update(raw).digest().subarray(0, 16).toString('base64url'));
    expect(key.publicJwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x, kid: key.kid });
    expect(createPublicKey(key.publicPem).export({ format: 'jwk' }).x).toBe(key.publicJwk.x);
  });

  it('returns the same key on every later call', async () => {
    const first = await loadOrCreateSigningKey(dataDir);
    const again = await loadOrCreateSigningKey(dataDir);
    expect(again.publicJwk).toEqual(first.publicJwk);
    expect(await readPublicKey(dataDir)).toEqual({ kid: first.kid, publicJwk: first.publicJwk, publicPem: first.publicPem });
  });

  it('gives concurrent first callers one and the same key, leaving no temporary files', async () => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(dataDir)));
    expect(new Set(keys.map((key) => key.kid)).size).toBe(1);
    expect(await readdir(dataDir)).toEqual([SIGNING_KEY_FILE]);
  });

  it('refuses a file that is not an Ed25519 private key, naming it', async () => {
    await loadOrCreateSigningKey(dataDir);
    const file = join(dataDir, SIGNING_KEY_FILE);
    await writeFile(file, 'not a key\n');
    await expect(loadOrCreateSigningKey(dataDir)).rejects.toThrow(`signing key ${file} is not an Ed25519 private key`);
    // An ordinary RSA key is a private key too, but not one that signs checkpoints.
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' });
    await writeFile(file, rsa);
    await expect(readPublicKey(dataDir)).rejects.toThrow(`signing key ${file} is not an Ed25519 private key`);
  });
});

describe('readPublicKey', () => {
  it('says no key exists yet and does not create one', async () => {
    await expect(readPublicKey(dataDir)).rejects.toThrow(`no signing key in ${dataDir} yet: it is created when the gateway first starts`);
    await expect(stat(dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('signed checkpoints', () => {
  it('verify with the public key and give back the claims', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    const jws = await key.sign(claimsFor(key.kid));
    const header = JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString('utf8'));
    expect(header).toEqual({ alg: 'EdDSA', kid: key.kid, typ: 'sluice-checkpoint+jws' });
    expect(await verifyCheckpoint(jws, key.publicJwk)).toEqual(claimsFor(key.kid));
  });

  it('fail when the payload was changed', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    const jws = await key.sign(claimsFor(key.kid));
    const changed = withPayload(jws, { ...claimsFor(key.kid), ledger_n: 6 });
    await expect(verifyCheckpoint(changed, key.publicJwk)).rejects.toThrow(
      `checkpoint signature does not verify with key ${key.kid}: signed by another key or changed`,
    );
  });

  it('fail with another gateway’s key', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    const other = await loadOrCreateSigningKey(join(dir, 'other'));
    const jws = await key.sign(claimsFor(key.kid));
    await expect(verifyCheckpoint(jws, other.publicJwk)).rejects.toThrow(
      `checkpoint signature does not verify with key ${other.kid}: signed by another key or changed`,
    );
  });

  it('refuse to sign claims that name another key', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    await expect(key.sign(claimsFor('someone-else'))).rejects.toThrow(`checkpoint claims name key someone-else, but this gateway signs with key ${key.kid}`);
  });

  it('reject a validly signed token that is not a checkpoint', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    const privateKey = createPrivateKey(await readFile(join(dataDir, SIGNING_KEY_FILE)));
    const sign = (typ: string, payload: object) =>
      new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'EdDSA', typ }).sign(privateKey);
    await expect(verifyCheckpoint(await sign('JWT', claimsFor(key.kid)), key.publicJwk)).rejects.toThrow(
      'checkpoint payload is not a Sluice checkpoint: its typ is "JWT"',
    );
    await expect(verifyCheckpoint(await sign('sluice-checkpoint+jws', { kid: key.kid, time: '2024', ledger_n: 1.5 }), key.publicJwk)).rejects.toThrow(
      'checkpoint payload is not a Sluice checkpoint: missing or wrong time (ms since the epoch), ledger_n (a ledger entry number), ledger_head (64 hex characters)',
    );
    await expect(verifyCheckpoint('not.a-jws', key.publicJwk)).rejects.toThrow(/^checkpoint is not a valid EdDSA compact JWS/);
  });
});

describe('parsePublicKey', () => {
  it('reads the one-line form and the JWK, and both verify', async () => {
    const key = await loadOrCreateSigningKey(dataDir);
    const line = publicKeyLine(key.publicJwk);
    expect(line).toBe(`sluice-ed25519:${key.publicJwk.x}`);
    const expected = { kty: 'OKP', crv: 'Ed25519', x: key.publicJwk.x };
    expect(parsePublicKey(`${line}\n`)).toEqual(expected);
    expect(parsePublicKey(JSON.stringify(key.publicJwk, null, 2))).toEqual(expected);
    const jws = await key.sign(claimsFor(key.kid));
    expect((await verifyCheckpoint(jws, parsePublicKey(line))).ledger_n).toBe(7);
  });

  it('says what is wrong with anything else', () => {
    expect(() => parsePublicKey('ssh-ed25519 AAAA')).toThrow(/^not a Sluice public key/);
    expect(() => parsePublicKey('sluice-ed25519:abc')).toThrow(/^the public key is not 32 bytes of base64url/);
    expect(() => parsePublicKey('{"kty":"RSA","n":"x","e":"AQAB"}')).toThrow(/^the public key JWK is not an Ed25519 key/);
    expect(() => parsePublicKey('{"kty":')).toThrow(/^the public key is not valid JSON/);
    const x = Buffer.alloc(32, 1).toString('base64url');
    expect(() => parsePublicKey(JSON.stringify({ kty: 'OKP', crv: 'Ed25519', x, d: x }))).toThrow(/holds a private key/);
  });
});
