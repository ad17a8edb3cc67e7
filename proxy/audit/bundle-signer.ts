import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CompactSign } from 'jose';
import { BUNDLE_TYP, type BundleManifest } from '../common/bundle-format.js';
import { canonicalJson } from '../common/canonical-json.js';
import type { Ed25519PublicJwk } from '../common/checkpoint-verify.js';
import { readPublicKey, SIGNING_KEY_FILE } from './signing-key.js';

// Signing export manifests with the gateway's checkpoint key. Apart from signing-key.ts so that
// file's SigningKey keeps signing checkpoints only: a manifest carries its own JWS typ, so
// neither kind of token can be passed off as the other.

/** What signs a bundle's manifest. */
export interface BundleSigner {
  readonly kid: string;
  readonly publicJwk: Ed25519PublicJwk;
  /** A compact JWS over the manifest: alg EdDSA, header {alg, kid, typ: 'sluice-bundle+jws'}. */
  signManifest(manifest: BundleManifest): Promise<string>;
}

/**
 * The signer of the key in `dataDir`; never creates one: a new key would vouch for nothing the
 * gateway signed. Throws (readPublicKey's words) when the key is missing or not Ed25519.
 */
export async function loadBundleSigner(dataDir: string): Promise<BundleSigner> {
  const { kid, publicJwk } = await readPublicKey(dataDir);
  const privateKey = createPrivateKey({ key: await readFile(join(dataDir, SIGNING_KEY_FILE)), format: 'pem' });
  return bundleSigner(privateKey, kid, publicJwk);
}

/** A signer over an Ed25519 private key whose public half is `publicJwk` (key id `kid`). */
export function bundleSigner(privateKey: KeyObject, kid: string, publicJwk: Ed25519PublicJwk): BundleSigner {
  return {
    kid,
    publicJwk,
    async signManifest(manifest) {
      if (manifest.kid !== kid) throw new Error(`the manifest names key ${manifest.kid}, but this signer signs with key ${kid}`);
      return new CompactSign(new TextEncoder().encode(canonicalJson(manifest))).setProtectedHeader({ alg: 'EdDSA', kid, typ: BUNDLE_TYP }).sign(privateKey);
    },
  };
}
