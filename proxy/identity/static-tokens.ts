import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { StaticTokenConfig } from '../config/schema.js';
import { STATIC_TOKEN_ISSUER, type Identity } from './identity.js';

/** Marks a Sluice token in logs and secret scanners, and keeps it apart from JWTs (no dots). */
export const STATIC_TOKEN_PREFIX = 'slu_';

export interface CreatedStaticToken {
  /** Shown once to the person who asked for it; never stored. */
  readonly token: string;
  /** What goes into config (`identity.tokens[].sha256`). */
  readonly sha256: string;
}

/** A new random token (256 bits) and the hash to put in config. */
export function createStaticToken(): CreatedStaticToken {
  const token = `${STATIC_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, sha256: hashToken(token) };
}

/** sha256 of the token's UTF-8 bytes, lowercase hex: the only form config holds. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

interface StoredToken {
  readonly hash: Buffer;
  readonly identity: Identity;
}

/**
 * Recognises the static tokens listed in config. Tokens are high-entropy, so a plain sha256 is
 * enough (no salt or slow hash needed); what matters is that config and backups never hold them.
 */
export class StaticTokenVerifier {
  readonly #tokens: readonly StoredToken[];

  constructor(tokens: readonly StaticTokenConfig[]) {
    this.#tokens = tokens.map((token) => ({
      hash: Buffer.from(token.sha256, 'hex'),
      identity: Object.freeze({
        subject: token.name,
        issuer: STATIC_TOKEN_ISSUER,
        groups: Object.freeze([...token.groups]),
        claims: Object.freeze({}),
        method: 'token' as const,
      }),
    }));
  }

  get size(): number {
    return this.#tokens.length;
  }

  /** The identity of the token's owner, or undefined when no configured token matches. */
  verify(token: string): Identity | undefined {
    const presented = createHash('sha256').update(token, 'utf8').digest();
    // Compare against every hash, without stopping at a match, so the time taken says nothing
    // about whether (or which) token matched.
    let match: Identity | undefined;
    for (const stored of this.#tokens) {
      const equal = stored.hash.length === presented.length && timingSafeEqual(stored.hash, presented);
      if (equal && !match) match = stored.identity;
    }
    return match;
  }
}
