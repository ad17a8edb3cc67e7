import { decodeJwt } from 'jose';
import type { OidcIssuerConfig, StaticTokenConfig } from '../config/schema.js';
import { AuthError, quoteClaim } from './auth-error.js';
import type { Identity } from './identity.js';
import type { FetchFunction } from './issuer-fetch.js';
import { OidcVerifier } from './oidc-verifier.js';
import { isRunCredential, type RunCredentials } from './run-credentials.js';
import { StaticTokenVerifier } from './static-tokens.js';

/** Longer than any real JWT (GitHub's are ~1.5 KB) and cheap to hash; refuses junk early. */
export const MAX_CREDENTIAL_LENGTH = 16 * 1024;

/** The config's `identity` section. */
export interface IdentityConfig {
  readonly oidc: readonly OidcIssuerConfig[];
  readonly tokens: readonly StaticTokenConfig[];
}

export interface AuthenticatorOptions {
  readonly fetch?: FetchFunction;
  readonly now?: () => Date;
  /** Session credentials of `sluice run`s under way; without it they are refused like unknown tokens. */
  readonly runCredentials?: RunCredentials;
}

// Three base64url segments; the last may be empty so `alg: none` tokens reach the JWT path and
// are refused for what they are rather than as an unknown static token.
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function looksLikeJwt(credential: string): boolean {
  return JWT_SHAPE.test(credential);
}

/** Turns a presented credential (an OIDC JWT or a static token) into an Identity. */
export class Authenticator {
  readonly #issuers: ReadonlyMap<string, OidcVerifier>;
  readonly #tokens: StaticTokenVerifier;
  readonly #runs: RunCredentials | undefined;

  constructor(config: IdentityConfig, options: AuthenticatorOptions = {}) {
    this.#issuers = new Map(config.oidc.map((issuer) => [issuer.issuer, new OidcVerifier(issuer, options)]));
    this.#tokens = new StaticTokenVerifier(config.tokens);
    this.#runs = options.runCredentials;
  }

  /** Who presented this credential; throws AuthError when it is refused. */
  async authenticate(credential: string): Promise<Identity> {
    if (credential.length === 0) throw new AuthError('malformed', 'no credential was presented');
    if (credential.length > MAX_CREDENTIAL_LENGTH) {
      throw new AuthError('malformed', `the credential is ${credential.length} characters, more than the ${MAX_CREDENTIAL_LENGTH} accepted`);
    }
    if (looksLikeJwt(credential)) return this.#verifyJwt(credential);
    if (isRunCredential(credential)) {
      const identity = this.#runs?.verify(credential);
      if (!identity) throw new AuthError('expired', 'this `sluice run` session credential is no longer valid: it lives only as long as its command');
      return identity;
    }

    const identity = this.#tokens.verify(credential);
    if (!identity) throw new AuthError('unknown_token', 'token not recognised: check it was copied whole and is listed in identity.tokens');
    return identity;
  }

  #verifyJwt(jwt: string): Promise<Identity> {
    // Unverified read, only to choose which issuer's keys to verify with; the verifier checks
    // `iss` again against the signed payload.
    let iss: unknown;
    try {
      iss = decodeJwt(jwt).iss;
    } catch (cause) {
      throw new AuthError('malformed', 'the credential looks like a JWT but its payload cannot be decoded', { cause });
    }
    const trusted = [...this.#issuers.keys()];
    if (typeof iss !== 'string') {
      throw new AuthError('untrusted_issuer', `the token names no issuer ("iss"); trusted issuers: ${trusted.join(', ') || 'none configured'}`);
    }
    const verifier = this.#issuers.get(iss);
    if (!verifier) {
      const near = trusted.find((issuer) => issuer.replace(/\/+$/, '') === iss.replace(/\/+$/, ''));
      const hint = near ? `; it differs from ${near} only by a trailing slash, and issuers must match exactly` : '';
      throw new AuthError('untrusted_issuer', `issuer ${quoteClaim(iss)} is not trusted (trusted: ${trusted.join(', ') || 'none configured'})${hint}`);
    }
    return verifier.verify(jwt);
  }
}
