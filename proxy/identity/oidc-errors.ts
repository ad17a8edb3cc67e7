import type { JWTPayload } from 'jose';
import { ASYMMETRIC_ALGORITHMS, type OidcIssuerConfig } from '../config/schema.js';
import { AuthError, quoteClaim } from './auth-error.js';

// jose's errors, by their stable `code`, turned into AuthErrors with messages a CI author can act
// on. jose messages are safe to quote (they never hold the token); claim values are quoted with
// quoteClaim so a hostile token cannot forge log lines.

interface JoseLikeError {
  readonly code?: unknown;
  readonly claim?: unknown;
  readonly reason?: unknown;
  readonly payload?: JWTPayload;
  readonly message?: unknown;
}

export interface VerifyContext {
  readonly config: OidcIssuerConfig;
  /** The token's header, decoded before verification. */
  readonly kid: string | undefined;
  readonly alg: string;
}

export function toAuthError(error: unknown, context: VerifyContext): AuthError {
  if (error instanceof AuthError) return error;
  const jose = (typeof error === 'object' && error !== null ? error : {}) as JoseLikeError;
  const { config } = context;
  const options = { cause: error };
  switch (jose.code) {
    case 'ERR_JWT_EXPIRED':
      return new AuthError('expired', `token expired at ${isoTime(jose.payload?.exp)}: request a fresh token from the issuer`, options);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimError(jose, config, options);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new AuthError(
        'unknown_key',
        context.kid === undefined
          ? `no key in the issuer's JWKS matches algorithm ${context.alg} (the token names no kid)`
          : `no key in the issuer's JWKS matches kid ${quoteClaim(context.kid)}: the token was not signed by ${config.issuer}, or its key is not published yet`,
        options,
      );
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new AuthError('unknown_key', `several keys in the issuer's JWKS match algorithm ${context.alg}: the token must name its key with a kid`, options);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return new AuthError('bad_signature', 'signature verification failed', options);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return new AuthError('algorithm_not_allowed', `algorithm ${quoteClaim(context.alg)} is not allowed for issuer ${config.issuer} (allowed: ${allowedAlgorithms(config).join(', ')})`, options);
    case 'ERR_JOSE_NOT_SUPPORTED':
      // Algorithms were checked before verification; this is e.g. an unknown "crit" header.
      return new AuthError('malformed', `the token uses a JOSE feature Sluice does not support (${String(jose.message)})`, options);
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return new AuthError('malformed', `the token is not a well-formed JWT (${String(jose.message)})`, options);
    case 'ERR_JWKS_TIMEOUT':
      return new AuthError('issuer_unreachable', `the issuer's JWKS did not arrive in time: check that ${config.issuer} is reachable`, options);
    default:
      return new AuthError('internal_error', `token verification failed unexpectedly (${error instanceof Error ? error.message : String(error)})`, options);
  }
}

/** The algorithms this issuer's tokens may use (the schema admits asymmetric ones only). */
export function allowedAlgorithms(config: OidcIssuerConfig): readonly string[] {
  return config.algorithms ?? ASYMMETRIC_ALGORITHMS;
}

function claimError(error: JoseLikeError, config: OidcIssuerConfig, options: { cause: unknown }): AuthError {
  const claim = typeof error.claim === 'string' ? error.claim : 'unknown';
  const payload = error.payload ?? {};
  if (error.reason === 'missing') {
    return new AuthError('missing_claim', `the token has no "${claim}" claim: the issuer must set it`, options);
  }
  if (error.reason === 'invalid') {
    return new AuthError('invalid_claim', `the token's "${claim}" claim is not valid (${String(error.message)})`, options);
  }
  switch (claim) {
    case 'nbf':
      return new AuthError(
        'not_yet_valid',
        `token is not valid before ${isoTime(payload.nbf)} (allowed clock skew: ${config.clock_skew / 1_000}s): check the clocks of Sluice and the issuer`,
        options,
      );
    case 'aud': {
      const configured = Array.isArray(config.audience) ? config.audience : [config.audience];
      const noun = configured.length === 1 ? 'audience' : 'audiences';
      return new AuthError(
        'wrong_audience',
        `audience ${quoteClaim(payload.aud)} does not match the configured ${noun} ${configured.map((aud) => quoteClaim(aud)).join(', ')}: request the token with the right audience`,
        options,
      );
    }
    case 'iss':
      return new AuthError('untrusted_issuer', `issuer ${quoteClaim(payload.iss)} is not trusted (trusted: ${config.issuer})`, options);
    default:
      return new AuthError('invalid_claim', `the token's "${claim}" claim failed validation (${String(error.message)})`, options);
  }
}

/** Epoch seconds as "2026-11-25T10:00:00Z". */
function isoTime(seconds: unknown): string {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return 'an unknown time';
  const date = new Date(seconds * 1_000);
  return Number.isNaN(date.getTime()) ? 'an unknown time' : date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
