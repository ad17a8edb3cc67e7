/**
 * Why a credential was refused. Callers branch on the code (a transport may answer
 * `issuer_unreachable` with "try again" rather than "access denied"); the message is for humans.
 */
export type AuthErrorCode =
  /** Not a credential we can parse: empty, too long, not a well-formed JWT. */
  | 'malformed'
  /** A static token that matches no configured token. */
  | 'unknown_token'
  /** A JWT whose `iss` is not in the allow-list (or differs from the issuer that verified it). */
  | 'untrusted_issuer'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'bad_signature'
  /** No key in the issuer's JWKS matches the token's `kid` / `alg`. */
  | 'unknown_key'
  /** `none`, HMAC, or an algorithm outside the issuer's configured list. */
  | 'algorithm_not_allowed'
  /** A required claim (`sub`, `exp`, `aud`, ...) is absent. */
  | 'missing_claim'
  /** A claim is present but unusable (e.g. `sub` not a string, `exp` not a number). */
  | 'invalid_claim'
  /** The issuer's discovery document or JWKS cannot be fetched right now: transient. */
  | 'issuer_unreachable'
  /** The issuer answered, but with something unusable (discovery names another issuer, bad JWKS, unreadable jwks_file). */
  | 'issuer_misconfigured'
  /** A failure Sluice did not expect; a bug or an unknown library error. */
  | 'internal_error';

/** A refused credential. The message never contains the credential itself. */
export class AuthError extends Error {
  override readonly name = 'AuthError';

  constructor(
    readonly code: AuthErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isAuthError(error: unknown): error is AuthError {
  return error instanceof AuthError;
}

/** Quotes a value taken from a token for a message: JSON escapes newlines (no log forging), length is capped. */
export function quoteClaim(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
