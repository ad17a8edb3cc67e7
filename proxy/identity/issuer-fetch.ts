import { performance } from 'node:perf_hooks';
import { formatDuration } from '../config/units.js';
import { AuthError } from './auth-error.js';

// HTTP to an OIDC issuer (discovery document, JWKS), with failures turned into AuthErrors that say
// what could not be fetched, and a gate so an unreachable issuer is not hammered by every caller.

export type FetchFunction = typeof fetch;

/** How long one request to an issuer may take. */
export const ISSUER_TIMEOUT_MS = 5_000;

/**
 * Remembers the last failed request to an issuer and refuses to try again until the cooldown
 * has passed: a burst of callers during an outage costs the issuer one request per cooldown.
 */
export class FailureGate {
  #last: { readonly at: number; readonly error: AuthError } | undefined;

  constructor(
    private readonly cooldownMs: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** Throws the last failure while it is within the cooldown. */
  check(): void {
    if (this.#last && this.clock() - this.#last.at < this.cooldownMs) throw this.#last.error;
  }

  record(error: AuthError): void {
    this.#last = { at: this.clock(), error };
  }

  clear(): void {
    this.#last = undefined;
  }
}

export interface IssuerRequest {
  readonly url: string;
  /** What is fetched, for messages: "discovery document", "JWKS". */
  readonly what: string;
  readonly cooldownMs: number;
  readonly fetch: FetchFunction;
  readonly init?: RequestInit;
}

/** GET a document from the issuer; anything but 200 is an `issuer_unreachable` AuthError. */
export async function fetchFromIssuer(request: IssuerRequest): Promise<Response> {
  const retry = `Sluice tries again at most every ${formatDuration(request.cooldownMs)} (identity.oidc[].jwks_cooldown)`;
  let response: Response;
  try {
    response = await request.fetch(request.url, {
      method: 'GET',
      // A redirect could lead anywhere; issuers serve these documents directly.
      redirect: 'manual',
      signal: AbortSignal.timeout(ISSUER_TIMEOUT_MS),
      ...request.init,
    });
  } catch (cause) {
    throw new AuthError(
      'issuer_unreachable',
      `cannot fetch the issuer's ${request.what} from ${request.url} (${describeFetchError(cause)}): check that the issuer is reachable from Sluice; ${retry}`,
      { cause },
    );
  }
  if (response.status !== 200) {
    // Drain the body so the connection can be reused; its content is not needed.
    await response.body?.cancel().catch(() => undefined);
    throw new AuthError(
      'issuer_unreachable',
      `cannot fetch the issuer's ${request.what} from ${request.url} (HTTP ${response.status}): check the issuer URL and that the issuer is up; ${retry}`,
    );
  }
  return response;
}

/** The useful part of a fetch failure: undici hides the socket error in `cause`. */
export function describeFetchError(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${formatDuration(ISSUER_TIMEOUT_MS)}`;
  }
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${code}: ${cause.message}` : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
