import type { Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { decodeBackend } from './backend-decode.js';
import { dataRowCells } from './data-row.js';
import { FrameQueue } from './frame-queue.js';
import { BackendCode, describeCode } from './message-codes.js';
import { UPSTREAM_LIMITS, type MessageReader } from './message-reader.js';
import { decodeRowDescription, type ResultField } from './row-description.js';
import { connectUpstream, type UpstreamTarget } from './upstream-connect.js';

// A side session on a resource's upstream, with the gateway's own credentials, for the catalog
// queries result masking needs (catalog-cache.ts). It opens on the first query, runs one query
// at a time over the simple Query protocol, and opens again when the upstream dropped it (a query
// that finds its kept session gone is tried once on a fresh one). The session is read-only and
// every statement has a time limit, so a catalog lookup can neither change data nor hold a
// client's query for long. Every error is a CatalogLookupError naming the resource, its message
// safe for clients.

export interface CatalogConnectionOptions {
  /** statement_timeout of the side session; default 5,000 ms. */
  readonly statementTimeoutMs?: number;
  /** How long a query may go unanswered before the connection is dropped; default 15,000 ms. */
  readonly answerTimeoutMs?: number;
  /** What the connection is for, in error messages; default "catalog lookup". */
  readonly purpose?: string;
}

/** A catalog query failed. The message is safe to show a client: it never holds credentials. */
export class CatalogLookupError extends Error {
  override readonly name = 'CatalogLookupError';
}

/** How long a closing session may take to finish a query already sent. */
const GRACE_MS = 1_000;

/** One open side session: why it is gone once it is, and how to end it. */
class Session {
  /** Set when the socket errs, closes or is ended: the first reason. */
  lost: string | undefined;
  /** The upstream left a query unanswered for too long: never worth a second try. */
  timedOut = false;
  readonly queue: FrameQueue;

  constructor(
    readonly socket: Socket,
    reader: MessageReader,
  ) {
    // Before the queue's own listeners, so the reason is set when its next() rejects.
    socket.on('error', (error: Error) => (this.lost ??= error.message));
    socket.on('close', () => (this.lost ??= 'the upstream closed the connection'));
    this.queue = new FrameQueue(socket, UPSTREAM_LIMITS, { reader });
  }

  /** Ends the session: politely (Terminate) when closing, at once when it misbehaved. Resolves once the socket is closed. */
  end(reason: string, graceful: boolean): Promise<void> {
    this.lost ??= reason;
    const { socket } = this;
    if (socket.closed) return Promise.resolve();
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    if (graceful) {
      socket.end(serialize.end());
      setTimeout(() => socket.destroy(), GRACE_MS).unref();
    } else socket.destroy();
    return closed;
  }
}

/** What one simple Query answered: every DataRow (text cells), and where the last result's rows begin. */
interface Answer {
  readonly rows: (string | null)[][];
  fields: readonly ResultField[];
  lastStart: number;
}

/** The upstream answered the query with an ErrorResponse: the session itself is still good. */
class QueryRefused extends Error {}

export class CatalogConnection {
  #session: Session | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #closed = false;
  readonly #statementTimeoutMs: number;
  readonly #answerTimeoutMs: number;
  readonly #purpose: string;

  constructor(
    private readonly target: UpstreamTarget,
    options: CatalogConnectionOptions = {},
  ) {
    this.#statementTimeoutMs = Math.max(1, Math.trunc(options.statementTimeoutMs ?? 5_000));
    this.#answerTimeoutMs = options.answerTimeoutMs ?? 15_000;
    this.#purpose = options.purpose ?? 'catalog lookup';
  }

  /** Runs `sql` (one or more statements); the DataRows of every result, as text cells (null for NULL). */
  async query(sql: string): Promise<(string | null)[][]> {
    return (await this.#queued(sql)).rows;
  }

  /** Runs `sql`; the last result's columns (as RowDescription described them) and its rows. */
  async result(sql: string): Promise<{ readonly fields: readonly ResultField[]; readonly rows: (string | null)[][] }> {
    const answer = await this.#queued(sql);
    return { fields: answer.fields, rows: answer.rows.slice(answer.lastStart) };
  }

  #queued(sql: string): Promise<Answer> {
    const run = this.#tail.then(() => this.#run(sql));
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Ends the session; a query already sent may still finish within a second, queued ones are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    const session = this.#session;
    this.#session = undefined;
    await session?.end('the catalog connection is closed', true);
  }

  async #run(sql: string): Promise<Answer> {
    for (let attempt = 1; ; attempt++) {
      if (this.#closed) throw this.#failure('the catalog connection is closed');
      const reused = this.#session !== undefined && this.#session.lost === undefined;
      const session = await this.#open();
      try {
        return await this.#exchange(session, sql);
      } catch (error) {
        if (error instanceof QueryRefused) throw this.#failure(error.message);
        const reason = session.lost ?? (error as Error).message;
        void session.end(reason, false);
        if (this.#session === session) this.#session = undefined;
        // A kept connection the upstream had closed (idle timeout, restart, terminated backend):
        // one try on a fresh one. Catalog queries only read, so running one again is harmless.
        if (reused && !session.timedOut && attempt === 1 && !this.#closed) continue;
        throw this.#failure(reason);
      }
    }
  }

  async #open(): Promise<Session> {
    if (this.#session && this.#session.lost === undefined) return this.#session;
    this.#session = undefined;
    let upstream: Awaited<ReturnType<typeof connectUpstream>>;
    try {
      upstream = await connectUpstream(this.target, { application_name: 'sluice catalog' }, UPSTREAM_LIMITS);
    } catch (error) {
      // UpstreamError messages are written to be shown to clients.
      throw this.#failure((error as Error).message);
    }
    const session = new Session(upstream.socket, upstream.reader);
    try {
      await this.#exchange(session, `SET statement_timeout = ${this.#statementTimeoutMs}; SET default_transaction_read_only = on; SET search_path = pg_catalog`);
    } catch (error) {
      void session.end('the catalog session could not be set up', false);
      throw this.#failure(`the catalog session could not be set up: ${session.lost ?? (error as Error).message}`);
    }
    if (this.#closed) {
      void session.end('the catalog connection is closed', true);
      throw this.#failure('the catalog connection is closed');
    }
    this.#session = session;
    return session;
  }

  /** Sends one simple Query and reads its answer up to ReadyForQuery. */
  async #exchange(session: Session, sql: string): Promise<Answer> {
    const { queue } = session;
    // Anything buffered while idle is stale: a FATAL error before the upstream closed the session.
    for (let stale = queue.reader.next(); stale; stale = queue.reader.next()) {
      if (stale.code === BackendCode.ErrorResponse) session.lost ??= 'the upstream ended the session while it was idle';
    }
    if (session.lost !== undefined) throw new Error(session.lost);
    const timer = setTimeout(() => {
      session.timedOut = true;
      void session.end(`no answer within ${this.#answerTimeoutMs / 1000}s`, false);
    }, this.#answerTimeoutMs);
    const answer: Answer = { rows: [], fields: [], lastStart: 0 };
    let refusal: string | undefined;
    try {
      // A write to a closed socket fails through the socket's 'error', which the queue reports.
      session.socket.write(serialize.query(sql));
      for (;;) {
        const frame = await queue.next().catch((error: unknown) => {
          throw new Error(session.lost ?? (error as Error).message);
        });
        switch (frame.code) {
          case BackendCode.DataRow:
            answer.rows.push(dataRowCells(frame).map((cell) => cell && cell.toString('utf8')));
            break;
          case BackendCode.RowDescription:
            answer.fields = decodeRowDescription(frame);
            answer.lastStart = answer.rows.length;
            break;
          case BackendCode.ErrorResponse: {
            const error = decodeBackend(frame);
            refusal ??= error.name === 'error' ? `${error.message ?? 'an error'} (SQLSTATE ${error.code ?? 'unknown'})` : 'an error';
            break;
          }
          case BackendCode.ReadyForQuery:
            if (refusal !== undefined) throw new QueryRefused(`the upstream answered: ${refusal}`);
            return answer;
          case BackendCode.CommandComplete:
          case BackendCode.EmptyQueryResponse:
          case BackendCode.NoticeResponse:
          case BackendCode.ParameterStatus:
          case BackendCode.NotificationResponse:
            break;
          default:
            throw new Error(`the upstream sent an unexpected ${describeCode(frame.code)} message`);
        }
      }
    } finally {
      clearTimeout(timer);
    }
  }

  #failure(reason: string): CatalogLookupError {
    const password = this.target.password;
    const safe = password?.occursIn(reason) ? reason.replaceAll(password.reveal(), '[secret]') : reason;
    return new CatalogLookupError(`the ${this.#purpose} for resource "${this.target.resource}" failed: ${safe}`);
  }
}
