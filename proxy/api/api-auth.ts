import type { Logger } from '../engine/logger.js';
import { isAuthError } from '../identity/auth-error.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { Identity } from '../identity/identity.js';
import { failed, type ApiResult } from './api-result.js';

/** The credential in `Authorization: Bearer <token or JWT>`; undefined when absent, null when another scheme. */
export function bearerCredential(header: string | undefined): string | undefined | null {
  if (header === undefined || header.trim() === '') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * Verifies a presented credential (every request: static tokens are a hash away, and jose caches
 * the issuers' keys). Refusals say which check failed, never the credential.
 */
export async function authenticateCaller(authenticator: Authenticator, credential: string | undefined | null, client: string, log: Logger): Promise<ApiResult<Identity>> {
  if (credential === undefined) return failed('unauthenticated', 'no credential: send "Authorization: Bearer <token or OIDC JWT>"');
  if (credential === null) return failed('unauthenticated', 'the Authorization header must be "Bearer <token or OIDC JWT>"');
  try {
    return { ok: true, value: await authenticator.authenticate(credential) };
  } catch (error) {
    if (!isAuthError(error)) {
      log.error('api authentication failed unexpectedly', { client, reason: error instanceof Error ? error.message : String(error) });
      return failed('internal', 'the gateway could not check the credential; its log has the detail');
    }
    log.warn('api authentication refused', { client, code: error.code, reason: error.message });
    if (error.code === 'issuer_unreachable') return failed('unauthenticated', 'the identity provider cannot be reached to verify your token; try again in a moment');
    return failed('unauthenticated', `authentication failed: ${error.message}`);
  }
}
