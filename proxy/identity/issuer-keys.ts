import { readFile } from 'node:fs/promises';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type CryptoKey,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import type { OidcIssuerConfig } from '../config/schema.js';
import { AuthError, isAuthError } from './auth-error.js';
import { fetchJwksUri } from './oidc-discovery.js';
import { FailureGate, fetchFromIssuer, ISSUER_TIMEOUT_MS, type FetchFunction } from './issuer-fetch.js';

/** How long fetched keys are used before they are fetched again, even when every kid is known. */
export const JWKS_CACHE_MAX_AGE_MS = 10 * 60_000;

type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

export interface IssuerKeysOptions {
  readonly fetch?: FetchFunction;
}

/**
 * The keys that verify one issuer's tokens: from `jwks_file` (offline), or from the JWKS its
 * discovery document points to. Nothing is fetched until the first token arrives, so Sluice
 * starts while an issuer is down.
 *
 * Remote keys are jose's remote JWKS set: cached, fetched again after 10 minutes, and fetched
 * early when a token names an unknown kid (key rotation), at most once per `jwks_cooldown`.
 * Failed requests to the issuer (discovery or JWKS) are also limited to one per cooldown.
 */
export class IssuerKeys {
  readonly #config: OidcIssuerConfig;
  readonly #fetch: FetchFunction;
  readonly #gate: FailureGate;
  #resolver: KeyResolver | undefined;
  #pending: Promise<KeyResolver> | undefined;

  constructor(config: OidcIssuerConfig, options: IssuerKeysOptions = {}) {
    this.#config = config;
    this.#fetch = options.fetch ?? globalThis.fetch;
    this.#gate = new FailureGate(config.jwks_cooldown);
  }

  /** A jose key-lookup function, for `jwtVerify`. */
  readonly resolve = async (header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<CryptoKey> => {
    const resolver = this.#resolver ?? (await this.#load());
    try {
      return await resolver(header, token);
    } catch (error) {
      throw this.#keySourceError(error);
    }
  };

  #load(): Promise<KeyResolver> {
    // Callers arriving while discovery is in flight share it rather than each fetching.
    this.#pending ??= this.#create().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  async #create(): Promise<KeyResolver> {
    const resolver = this.#config.jwks_file ? await loadJwksFile(this.#config.jwks_file) : await this.#discover();
    this.#resolver = resolver;
    return resolver;
  }

  async #discover(): Promise<KeyResolver> {
    this.#gate.check();
    let jwksUri: URL;
    try {
      jwksUri = await fetchJwksUri(this.#config, this.#fetch);
    } catch (error) {
      if (isAuthError(error)) this.#gate.record(error);
      throw error;
    }
    this.#gate.clear();
    return createRemoteJWKSet(jwksUri, {
      cooldownDuration: this.#config.jwks_cooldown,
      cacheMaxAge: JWKS_CACHE_MAX_AGE_MS,
      timeoutDuration: ISSUER_TIMEOUT_MS,
      [customFetch]: this.#jwksFetch,
    });
  }

  /** jose's JWKS requests, through the failure gate and with failures that name the URL. */
  readonly #jwksFetch: FetchImplementation = async (url, init) => {
    this.#gate.check();
    try {
      const response = await fetchFromIssuer({ url, what: 'JWKS', cooldownMs: this.#config.jwks_cooldown, fetch: this.#fetch, init });
      this.#gate.clear();
      return response;
    } catch (error) {
      if (isAuthError(error)) this.#gate.record(error);
      throw error;
    }
  };

  /** Failures of the key source itself; key-selection errors (no matching kid) pass through. */
  #keySourceError(error: unknown): unknown {
    const code = (error as { code?: unknown } | null)?.code;
    const source = this.#config.jwks_file ? `the JWKS file ${this.#config.jwks_file}` : `the JWKS of ${this.#config.issuer}`;
    switch (code) {
      case 'ERR_JWKS_INVALID':
      case 'ERR_JWK_INVALID':
        return new AuthError('issuer_misconfigured', `${source} is not a valid key set (${(error as Error).message})`, { cause: error });
      case 'ERR_JOSE_GENERIC':
        // jose's own fetch-side failures: a body that is not JSON.
        return new AuthError('issuer_misconfigured', `${source} cannot be read (${(error as Error).message})`, { cause: error });
      case 'ERR_JWKS_TIMEOUT':
        return new AuthError('issuer_unreachable', `${source} did not arrive within ${ISSUER_TIMEOUT_MS / 1_000}s: check that the issuer is reachable`, {
          cause: error,
        });
      default:
        return error;
    }
  }
}

/** An offline key set: read once, on the first token. */
async function loadJwksFile(path: string): Promise<KeyResolver> {
  let jwks: unknown;
  try {
    jwks = JSON.parse(await readFile(path, 'utf8'));
  } catch (cause) {
    const reason = cause instanceof SyntaxError ? 'not JSON' : ((cause as NodeJS.ErrnoException).code ?? String(cause));
    throw new AuthError('issuer_misconfigured', `cannot read the JWKS file ${path} (${reason}): check identity.oidc[].jwks_file`, { cause });
  }
  try {
    return createLocalJWKSet(jwks as JSONWebKeySet);
  } catch (cause) {
    throw new AuthError('issuer_misconfigured', `the JWKS file ${path} is not a key set ({"keys": [...]}): check identity.oidc[].jwks_file`, { cause });
  }
}
