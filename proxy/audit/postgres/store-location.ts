import pg from 'pg';

// Where a PostgreSQL audit store is, and how to speak of it without its password. The
// connection string carries the password; messages, `file`, onError and thrown errors carry
// host:port/database only, and any text from pg or Node passes through `redact` first (a
// malformed URL error, a DNS failure and a driver message may each quote what they were given).

/** A statement the server has not finished by then is cancelled (a lock held by a dead client, say). */
export const STATEMENT_TIMEOUT_MS = 30_000;
/** A writer transaction idle this long was left by a connection that died: the server ends it and frees its locks. */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 15_000;
/** The client gives up on an answer after this: a cut network never answers, and no server timeout fires then. */
const QUERY_TIMEOUT_MS = STATEMENT_TIMEOUT_MS + 5_000;
const CONNECT_TIMEOUT_MS = 10_000;

export interface StoreLocation {
  /** host:port/database: what `file` says, and what messages name. */
  readonly display: string;
  /** `text` with every form of the password replaced by `***`. */
  redact(text: string): string;
  /**
   * An Error to show anyone: `what`, then the cause's text (only the text when `what` is empty),
   * redacted, and its code; not the original, whose fields may quote the password.
   */
  describe(what: string, error: unknown): Error;
  /** Client settings for the store's connections: timeouts, keepalive, an application name the server's views show. */
  clientConfig(role: 'writer' | 'reader'): pg.ClientConfig;
}

/** int8 columns (times, seq, n) as numbers: every one the store writes is a safe integer. */
const INT8_AS_NUMBER: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export function storeLocation(connectionString: string): StoreLocation {
  const forms = new Set<string>();
  // The password as the URL spells it, found without a URL parser (the string may not parse).
  const raw = /^[a-z][a-z0-9+.-]*:\/\/[^:@/?#]*:([^@/?#]*)@/i.exec(connectionString)?.[1];
  if (raw) forms.add(raw);
  const expected = 'expected postgres://user:password@host:port/database';
  // node-postgres would take any other text as a database name, password and all.
  if (!/^postgres(ql)?:\/\//i.test(connectionString)) throw new Error(`the audit store's connection string is not a postgres:// URL; ${expected}`);
  let parsed: pg.Client;
  try {
    parsed = new pg.Client({ connectionString });
  } catch (error) {
    const redact = redactor(forms);
    // No cause: the original's fields may hold the string it could not parse, password and all.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`the audit store's connection string is not a PostgreSQL URL (${redact(errorText(error))}); ${expected}`);
  }
  const { host, port, database, password } = parsed;
  if (typeof password === 'string' && password !== '') {
    forms.add(password);
    forms.add(encodeURIComponent(password));
  }
  const redact = redactor(forms);
  const display = `${host.includes(':') ? `[${host}]` : host}:${port}/${database ?? ''}`;
  return {
    display,
    redact,
    describe(what, error) {
      const described = new Error(redact(what === '' ? errorText(error) : `${what}: ${errorText(error)}`));
      const code = (error as { code?: unknown } | null)?.code;
      if (typeof code === 'string') Object.assign(described, { code });
      return described;
    },
    clientConfig(role) {
      return {
        connectionString,
        application_name: `sluice-audit-${role}`,
        statement_timeout: STATEMENT_TIMEOUT_MS,
        query_timeout: QUERY_TIMEOUT_MS,
        connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
        keepAlive: true,
        types: INT8_AS_NUMBER,
        ...(role === 'writer' ? { idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS } : {}),
      };
    },
  };
}

/** Replaces each form (longest first, so a form inside another cannot leave a piece behind). */
export function redactor(forms: Iterable<string>): (text: string) => string {
  const ordered = [...forms].filter((form) => form !== '').sort((a, b) => b.length - a.length);
  return (text) => ordered.reduce((out, form) => out.split(form).join('***'), text);
}

/**
 * An error's words: Node's AggregateError (every address of a host refused) has an empty
 * message, so its first error's is used; a code stands in when there are no words at all.
 */
export function errorText(error: unknown): string {
  if (error instanceof AggregateError && error.message === '') {
    const first: unknown = error.errors[0];
    if (first !== undefined) return errorText(first);
  }
  if (error instanceof Error) {
    if (error.message !== '') return error.message;
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : error.name;
  }
  return String(error);
}
