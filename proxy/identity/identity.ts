/** How a caller proved who it is. */
export type AuthMethod = 'token' | 'oidc';

/**
 * Who is calling, as every later stage (policy, approvals, audit) sees it. Built only by
 * the identity/ verifiers; never holds the credential itself.
 */
export interface Identity {
  /** The token's name, or the JWT's `sub`. */
  readonly subject: string;
  /** `sluice:token` for static tokens, the JWT's `iss` for OIDC. */
  readonly issuer: string;
  readonly groups: readonly string[];
  /** The claims config selected to keep (strings, numbers and booleans only). */
  readonly claims: Readonly<Record<string, string | number | boolean>>;
  readonly method: AuthMethod;
  /** When the credential stops being valid (epoch ms), when it says. */
  readonly expiresAt?: number;
  /** The `sluice run` whose session credential was presented (proxy/identity/run-credentials.ts). */
  readonly run?: string;
}

export const STATIC_TOKEN_ISSUER = 'sluice:token';
