import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { createKeyFileOnce } from '../config/key-file.js';
import type { CheckpointClaims, PruneClaims } from '../common/audit-chain-types.js';
import { CHECKPOINT_TYP, keyIdOf, PRUNE_TYP, type Ed25519PublicJwk } from '../common/checkpoint-verify.js';

// The gateway's Ed25519 key that signs audit checkpoints. The private half stays on the
// gateway's host (never in config, audit or bundles); the public half is what auditors are given
// (`sluice key show`) to check a bundle offline. It survives restarts so old checkpoints keep
// verifying with the same published key.

export const SIGNING_KEY_FILE = 'signing-key.pem';

/** What anyone may see of the key. */
export interface PublicSigningKey {
  /** base64url of the first 16 bytes of sha256(raw 32-byte public key). */
  readonly kid: string;
  readonly publicJwk: Required<Ed25519PublicJwk>;
  /** SPKI PEM, for tools that want a standard key file. */
  readonly publicPem: string;
}

export interface SigningKey extends PublicSigningKey {
  /** A compact JWS over the claims: alg EdDSA, header {alg, kid, typ: 'sluice-checkpoint+jws'}. */
  sign(claims: CheckpointClaims): Promise<string>;
  /** A compact JWS over a retention record: typ 'sluice-prune+jws'. */
  signPrune(claims: PruneClaims): Promise<string>;
}

/**
 * Reads `<dataDir>/signing-key.pem`, creating it (PKCS#8 PEM, mode 0600) on first use. Like the
 * masking key, the new key is written to a private temporary file and linked into place, which
 * fails if the file exists: two processes starting at once end with one key, and no reader sees
 * a half-written one.
 */
export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const path = join(dataDir, SIGNING_KEY_FILE);
  const existing = await readPrivateKey(path);
  if (existing) return signingKey(existing);
  const { privateKey } = generateKeyPairSync('ed25519');
  await createKeyFileOnce(dataDir, SIGNING_KEY_FILE, privateKey.export({ format: 'pem', type: 'pkcs8' }));
  // Read back rather than use `privateKey`: when another process won the race, its key is the one.
  const key = await readPrivateKey(path);
  if (!key) throw new Error(`signing key ${path} disappeared while it was being created; start again`);
  return signingKey(key);
}

/** The public half of the key in `dataDir`, for commands that must never create one. */
export async function readPublicKey(dataDir: string): Promise<PublicSigningKey> {
  const key = await readPrivateKey(join(dataDir, SIGNING_KEY_FILE));
  if (!key) throw new Error(`no signing key in ${dataDir} yet: it is created when the gateway first starts`);
  return publicHalf(key);
}

async function signingKey(privateKey: KeyObject): Promise<SigningKey> {
  const pub = await publicHalf(privateKey);
  return {
    ...pub,
    async sign(claims) {
      // A checkpoint naming another key would never verify: catch the mix-up where it is made.
      if (claims.kid !== pub.kid) throw new Error(`checkpoint claims name key ${claims.kid}, but this gateway signs with key ${pub.kid}`);
      const payload = { kid: claims.kid, time: claims.time, ledger_n: claims.ledger_n, ledger_head: claims.ledger_head };
      return new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
        .setProtectedHeader({ alg: 'EdDSA', kid: pub.kid, typ: CHECKPOINT_TYP })
        .sign(privateKey);
    },
    async signPrune(claims) {
      if (claims.kid !== pub.kid) throw new Error(`retention record names key ${claims.kid}, but this gateway signs with key ${pub.kid}`);
      const payload = { kid: claims.kid, time: claims.time, horizon: claims.horizon, count: claims.count, sessions_sha256: claims.sessions_sha256 };
      return new CompactSign(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader({ alg: 'EdDSA', kid: pub.kid, typ: PRUNE_TYP }).sign(privateKey);
    },
  };
}

async function publicHalf(privateKey: KeyObject): Promise<PublicSigningKey> {
  const publicKey = createPublicKey(privateKey);
  const { x } = publicKey.export({ format: 'jwk' });
  if (typeof x !== 'string') throw new Error('node:crypto exported an Ed25519 public key without "x"');
  const kid = await keyIdOf({ x });
  return {
    kid,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x, kid },
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** The key in `path`, undefined when there is no such file; an Error when it is not an Ed25519 private key. */
async function readPrivateKey(path: string): Promise<KeyObject | undefined> {
  let pem: Buffer;
  try {
    pem = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  let key: KeyObject | undefined;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    key = undefined;
  }
  if (key?.asymmetricKeyType !== 'ed25519') {
    throw new Error(
      `signing key ${path} is not an Ed25519 private key (PKCS#8 PEM): restore the original file, or delete it to create a new key (checkpoints signed before then verify only with the old public key)`,
    );
  }
  return key;
}
