import type { OidcIssuerConfig } from '../config/schema.js';
import { isHttpsOrLoopback, parseUrl } from '../common/urls.js';
import { AuthError, quoteClaim } from './auth-error.js';
import { describeFetchError, fetchFromIssuer, type FetchFunction } from './issuer-fetch.js';

/** A discovery document is a few KB; anything this large is not one. */
const MAX_DISCOVERY_BYTES = 1_048_576;

/** Where the issuer's OpenID discovery document lives. */
export function discoveryUrl(config: Pick<OidcIssuerConfig, 'issuer' | 'discovery_url'>): string {
  return config.discovery_url ?? `${config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Fetches the discovery document and returns its `jwks_uri`. The document must name the
 * configured issuer exactly (OpenID Connect Discovery §4.3): otherwise keys published for one
 * issuer would be trusted for another.
 */
export async function fetchJwksUri(config: OidcIssuerConfig, fetch: FetchFunction): Promise<URL> {
  const url = discoveryUrl(config);
  const response = await fetchFromIssuer({
    url,
    what: 'discovery document',
    cooldownMs: config.jwks_cooldown,
    fetch,
    init: { headers: { accept: 'application/json' } },
  });
  const document = await readDocument(response, url);

  if (document.issuer !== config.issuer) {
    throw new AuthError(
      'issuer_misconfigured',
      `the discovery document at ${url} names issuer ${quoteClaim(document.issuer)}, not the configured issuer ${quoteClaim(config.issuer)}: ` +
        'set identity.oidc[].issuer to exactly the value the issuer publishes (including any trailing slash), or fix discovery_url',
    );
  }
  const jwksUri = typeof document.jwks_uri === 'string' ? parseUrl(document.jwks_uri) : undefined;
  if (!jwksUri) {
    throw new AuthError('issuer_misconfigured', `the discovery document at ${url} has no usable jwks_uri: the issuer publishes no keys Sluice can read`);
  }
  if (!isHttpsOrLoopback(jwksUri)) {
    throw new AuthError(
      'issuer_misconfigured',
      `the discovery document at ${url} publishes keys at ${quoteClaim(document.jwks_uri)}: keys are fetched only over https:// (http:// only for a loopback host)`,
    );
  }
  return jwksUri;
}

async function readDocument(response: Response, url: string): Promise<Record<string, unknown>> {
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > MAX_DISCOVERY_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new AuthError('issuer_misconfigured', `the discovery document at ${url} is ${length} bytes, more than a discovery document can be`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (cause) {
    throw new AuthError('issuer_unreachable', `cannot read the discovery document from ${url} (${describeFetchError(cause)}): check that the issuer is reachable`, {
      cause,
    });
  }
  let document: unknown;
  try {
    if (text.length > MAX_DISCOVERY_BYTES) throw new Error('too large');
    document = JSON.parse(text);
  } catch (cause) {
    throw new AuthError('issuer_misconfigured', `the discovery document at ${url} is not a JSON object: check discovery_url`, { cause });
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new AuthError('issuer_misconfigured', `the discovery document at ${url} is not a JSON object: check discovery_url`);
  }
  return document as Record<string, unknown>;
}
