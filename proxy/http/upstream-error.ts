import { refusal, type Refusal } from './gateway-errors.js';

// An upstream failure in words for the caller (a status and a code; never the upstream's
// address, which only the gateway log names) and for the operator.

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** The refusal a caller gets when the upstream of `resource` failed with `error`. */
export function upstreamRefusal(resource: string, error: NodeJS.ErrnoException, timedOut: boolean): Refusal {
  const code = error.code ?? 'unknown';
  if (timedOut) return refusal(504, 'upstream_timeout', `the upstream of ${resource} did not answer in time; try again, or ask an administrator to raise resources[].timeout of ${resource}`);
  if (TLS_CODES.has(code) || code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL')) {
    return refusal(502, 'upstream_tls', `the upstream of ${resource} failed TLS verification (${code}); Sluice verifies upstream certificates, so an administrator must fix the certificate or set resources[].ca of ${resource}`);
  }
  switch (code) {
    case 'ECONNREFUSED':
      return refusal(502, 'upstream_unreachable', `the upstream of ${resource} refused the connection (ECONNREFUSED): it is down or not listening; try again later`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return refusal(502, 'upstream_unreachable', `the upstream host of ${resource} cannot be resolved (${code}); an administrator must check resources[].upstream of ${resource}`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      return refusal(502, 'upstream_unreachable', `the upstream of ${resource} cannot be reached (${code}); try again later`);
    case 'ECONNRESET':
    case 'EPIPE':
      return refusal(502, 'upstream_closed', `the upstream of ${resource} closed the connection before it answered (${code})`);
    default:
      if (code.startsWith('HPE_')) return refusal(502, 'upstream_invalid', `the upstream of ${resource} answered with something that is not valid HTTP (${code}); Sluice does not pass it on`);
      return refusal(502, 'upstream_failed', `the request to the upstream of ${resource} failed (${code})`);
  }
}
