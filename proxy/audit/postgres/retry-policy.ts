// Which failures of the store's connection are worth waiting out, and how long to wait between
// attempts. A server restarting, a network cut, a failover or a statement cancelled by its
// timeout pass: the writer keeps what it holds and tries again. A constraint violated or a
// table missing will not pass by waiting: that batch is lost and reported.

/** SQLSTATE classes and codes that say "the server or the link had trouble", not "this write is wrong". */
const RETRYABLE_CLASSES = new Set(['08', '53', '40', '58']);
const RETRYABLE_CODES = new Set(['57P01', '57P02', '57P03', '57014', '55P03', '25P03']);

/** What the node-postgres client says when the connection, not the server, failed. */
const CLIENT_CONNECTION_ERRORS = /connection terminated|query read timeout|timeout expired|not queryable|connection error|socket|ECONN|EPIPE/i;

export function isRetryable(error: unknown): boolean {
  if (error instanceof AggregateError) return true;
  if (!(error instanceof Error)) return false;
  const { code, severity } = error as { code?: unknown; severity?: unknown };
  if (typeof severity === 'string' && typeof code === 'string') {
    // From the server: its SQLSTATE says.
    return RETRYABLE_CLASSES.has(code.slice(0, 2)) || RETRYABLE_CODES.has(code);
  }
  // Node's own: ECONNRESET, ECONNREFUSED, ETIMEDOUT, EHOSTUNREACH, ENOTFOUND, EAI_AGAIN, …
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) return true;
  return CLIENT_CONNECTION_ERRORS.test(error.message);
}

export const RETRY_FIRST_DELAY_MS = 100;
export const RETRY_MAX_DELAY_MS = 3_000;

/**
 * Exponential backoff with jitter: attempt 0 waits about 100 ms, doubling up to about 3 s. The
 * jitter (half of the delay, at random) keeps gateways that lost the server together from all
 * knocking at the same instant when it comes back.
 */
export function retryDelay(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_MAX_DELAY_MS, RETRY_FIRST_DELAY_MS * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
