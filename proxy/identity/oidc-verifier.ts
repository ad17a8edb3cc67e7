import { decodeProtectedHeader, jwtVerify, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import type { OidcIssuerConfig } from '../config/schema.js';
import { AuthError, quoteClaim } from './auth-error.js';
import { groupsFromClaims, selectClaims } from './claim-groups.js';
import type { Identity } from './identity.js';
import type { FetchFunction } from './issuer-fetch.js';
import { IssuerKeys } from './issuer-keys.js';
import { allowedAlgorithms, toAuthError } from './oidc-errors.js';

export interface OidcVerifierOptions {
  /** For tests and proxies; defaults to the global fetch. */
  readonly fetch?: FetchFunction;
  /** The time tokens are checked against; defaults to the system clock. */
  readonly now?: () => Date;
}

/**
 * Verifies JWTs from one configured OIDC issuer (GitHub Actions, GitLab, a cloud IdP) and turns
 * them into an Identity. Only asymmetric signatures are accepted: with an HMAC algorithm the
 * "secret" would be the issuer's public key, which anyone can fetch.
 */
export class OidcVerifier {
  readonly config: OidcIssuerConfig;
  readonly #keys: IssuerKeys;
  readonly #algorithms: readonly string[];
  readonly #now: () => Date;

  constructor(config: OidcIssuerConfig, options: OidcVerifierOptions = {}) {
    this.config = config;
    this.#keys = new IssuerKeys(config, options.fetch ? { fetch: options.fetch } : {});
    this.#algorithms = allowedAlgorithms(config);
    this.#now = options.now ?? (() => new Date());
  }

  get issuer(): string {
    return this.config.issuer;
  }

  /** The caller's identity, or an AuthError saying why the token is refused. */
  async verify(token: string): Promise<Identity> {
    const header = readHeader(token);
    const alg = checkAlgorithm(header.alg, this.#algorithms, this.config.issuer);
    const kid = typeof header.kid === 'string' ? header.kid : undefined;

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#keys.resolve, {
        issuer: this.config.issuer,
        audience: this.config.audience,
        algorithms: [...this.#algorithms],
        clockTolerance: this.config.clock_skew / 1_000,
        requiredClaims: ['exp', 'sub'],
        currentDate: this.#now(),
      }));
    } catch (error) {
      throw toAuthError(error, { config: this.config, kid, alg });
    }

    if (typeof payload.sub !== 'string' || payload.sub === '') {
      throw new AuthError('invalid_claim', `the token's "sub" claim is ${quoteClaim(payload.sub)}, not a non-empty string: the issuer must name the caller`);
    }
    // requiredClaims and jose's numeric-date check guarantee a number; the guard keeps types honest.
    const exp = typeof payload.exp === 'number' ? payload.exp : undefined;
    return Object.freeze({
      subject: payload.sub,
      issuer: this.config.issuer,
      groups: Object.freeze(groupsFromClaims(this.config.groups, payload)),
      claims: Object.freeze(selectClaims(payload, this.config.claims)),
      method: 'oidc' as const,
      ...(exp === undefined ? {} : { expiresAt: exp * 1_000 }),
    });
  }
}

function readHeader(token: string): ProtectedHeaderParameters {
  try {
    return decodeProtectedHeader(token);
  } catch (cause) {
    throw new AuthError('malformed', 'the token is not a well-formed JWT (its header cannot be decoded)', { cause });
  }
}

/**
 * Refuses `none` and HMAC before any key is looked up. Checked here, not only by jose's
 * `algorithms` option, so the refusal names the real reason: HS256 signed with the issuer's
 * public key is a classic forgery, not a configuration detail.
 */
function checkAlgorithm(alg: unknown, allowed: readonly string[], issuer: string): string {
  if (typeof alg !== 'string' || alg === '') {
    throw new AuthError('malformed', 'the token header names no signature algorithm ("alg")');
  }
  if (alg.toLowerCase() === 'none' || /^HS/i.test(alg)) {
    throw new AuthError('algorithm_not_allowed', `algorithm ${quoteClaim(alg)} is not allowed: only asymmetric signatures (RS/PS/ES/EdDSA) are accepted`);
  }
  if (!allowed.includes(alg)) {
    throw new AuthError('algorithm_not_allowed', `algorithm ${quoteClaim(alg)} is not allowed for issuer ${issuer} (allowed: ${allowed.join(', ')})`);
  }
  return alg;
}
