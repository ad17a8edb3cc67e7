import pg from 'pg';
import Cursor from 'pg-cursor';
import type { Cell, TabularResult } from './result-table.js';
import { capRows } from './result-table.js';

// The `query` tool's data path: a real PostgreSQL connection to the engine's own listener,
// logged in with the MCP session's credential, so classification, policy, masking, the masking
// guard, limits, approvals and audit apply exactly as they do to psql. Rows are read through a
// portal (Execute with a row count) so a row limit stops reading instead of buffering everything.

export interface PgEndpoint {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** The listener's self-signed certificate (PEM): verified against it when present. */
  readonly certificate?: string;
}

/** Every value as the text PostgreSQL sent (already masked by the gateway): nothing is parsed. */
const TEXT_TYPES = { getTypeParser: () => (value: string) => value };

/** The NoticeResponse the gateway sends when it holds a statement (statement-gate.ts, result-limiter.ts). */
const HELD_NOTICE = /^waiting for approval (\S+)/;

export function connectResource(endpoint: PgEndpoint, resource: string, credential: string): Promise<pg.Client> {
  const client = new pg.Client({
    host: endpoint.host,
    port: endpoint.port,
    user: 'mcp',
    password: credential,
    database: resource,
    application_name: 'sluice mcp',
    // Our own listener: pinned to its certificate when it made one; else encrypted only (a configured certificate's CA is the operator's).
    ssl: endpoint.tls ? (endpoint.certificate ? { ca: endpoint.certificate } : { rejectUnauthorized: false }) : false,
  });
  // A connection error after login (gateway shutdown) must not crash the process; the next query sees it.
  client.on('error', () => undefined);
  return client.connect().then(() => client);
}

export interface QueryRun {
  /** Settles with the result, or rejects with PostgreSQL's (or the gateway's) error. */
  readonly result: Promise<TabularResult>;
  /** Resolves with the approval id if the gateway holds the statement; never rejects. */
  readonly held: Promise<string>;
}

/** Runs one statement, reading at most `rowLimit` rows. */
export function runQuery(client: pg.Client, sql: string, params: readonly (string | null)[], rowLimit: number): QueryRun {
  let onHeld: (id: string) => void = () => undefined;
  const held = new Promise<string>((resolve) => (onHeld = resolve));
  const notice = (message: { message?: string }) => {
    const match = HELD_NOTICE.exec(message.message ?? '');
    if (match) onHeld(match[1]!);
  };
  client.on('notice', notice);
  const cursor = client.query(new Cursor<Cell[]>(sql, [...params], { rowMode: 'array', types: TEXT_TYPES }));
  const result = new Promise<TabularResult>((resolve, reject) => {
    cursor.read(rowLimit + 1, (error, rows, raw) => {
      if (error) return reject(error);
      const over = rows.length > rowLimit;
      const { rows: kept, capped } = capRows(rows.slice(0, rowLimit));
      const columns = (raw.fields ?? []).map((field) => field.name);
      // A SELECT's rowCount is the rows read so far; a write's is what it changed.
      const command = raw.command ?? (columns.length > 0 ? 'SELECT' : 'OK');
      const rowCount = columns.length > 0 ? Math.min(rows.length, rowLimit) : (raw.rowCount ?? 0);
      resolve({ columns, rows: kept, row_count: rowCount, truncated: over || capped, command });
    });
  }).finally(() => {
    client.off('notice', notice);
  });
  // Closing the portal is part of the statement: the connection is reusable only after it.
  const closed = result.then(
    (value) => new Promise<TabularResult>((resolve, reject) => cursor.close((error) => (error ? reject(error) : resolve(value)))),
    (error: unknown) => Promise.reject(error instanceof Error ? error : new Error(String(error))),
  );
  return { result: closed, held };
}

/** What a PostgreSQL or gateway error says, for the agent (never a credential: the gateway wrote it). */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const fields = error as Error & { code?: string; detail?: string; hint?: string };
  return [fields.message, fields.detail ? `DETAIL: ${fields.detail}` : '', fields.hint ? `HINT: ${fields.hint}` : '', fields.code ? `(SQLSTATE ${fields.code})` : ''].filter(Boolean).join(' ');
}
