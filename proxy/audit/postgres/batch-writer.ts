import type pg from 'pg';
import type { LedgerEntry } from '../../common/audit-chain-types.js';
import { BatchQueue, type QueuedBatch } from '../batch-queue.js';
import { isRetryable, retryDelay } from './retry-policy.js';
import type { StoreLocation } from './store-location.js';
import type { WriterConnection } from './writer-connection.js';
import type { EventRow } from '../event-chain.js';
import { commitBatch, WriterReplacedError, type CheckpointRow, type EndRow, type PruneRow, type SessionRow } from './write-queries.js';

// The shared store's one writer: the SQLite writer's batching (group commits every maxDelayMs
// or maxBatch writes, strictly in order; a write's promise is its batch's commit), plus what a
// database across a network needs. While the connection is down, batches stay in memory, in
// order, and are retried with backoff until they commit; a batch whose commit was lost with the
// connection is recognised by its number (see write-queries.ts) and not written twice. Past
// maxBufferedEvents waiting events, only mid-session events are dropped: session rows, connect
// and disconnect events, ledger entries, checkpoints and retention records are few (the gateway
// refuses new sessions while the store fails), and losing one would break a whole chain (or
// leave a session unsealed) instead of leaving a gap in one session that verification names.

export interface PostgresBatchWriterOptions {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  readonly maxBufferedEvents: number;
  readonly gateway: string;
  /** This process's token in sluice.gateways.writer. */
  readonly writer: string;
  readonly location: StoreLocation;
  /** ms since the epoch. */
  readonly now: () => number;
  /** Records lost or refused (not an outage: that is waited out). Never throws into the writer. */
  readonly report: (error: Error) => void;
}

interface Batch extends QueuedBatch {
  no: number;
  readonly sessions: SessionRow[];
  readonly events: EventRow[];
  readonly ledger: LedgerEntry[];
  readonly ends: EndRow[];
  readonly checkpoints: CheckpointRow[];
  readonly prunes: PruneRow[];
  size: number;
  readonly done: Promise<void>;
  readonly settle: () => void;
}

export interface PostgresWriterStats {
  readonly eventsWritten: number;
  readonly batches: number;
  readonly queued: number;
  /** Events dropped because the buffer was full while PostgreSQL could not be written. */
  readonly droppedEvents: number;
  /** Batch attempts that failed in a way worth retrying (the batch was then tried again). */
  readonly retries: number;
  /** Connections the writer made after its first: outages ridden out. */
  readonly reconnects: number;
}

export class PostgresBatchWriter {
  private readonly queue: BatchQueue<Batch>;
  private batchNo = 0;
  private closedAt: Error | undefined;
  /** close() stopped waiting: what is still queued is counted here and reported once. */
  private abandoned: { events: number; writes: number } | undefined;
  private wakePause: (() => void) | undefined;
  private overflowError: Error | undefined;
  private lossError: Error | undefined;
  private readonly counts = { eventsWritten: 0, batches: 0, queued: 0, droppedEvents: 0, retries: 0 };

  constructor(
    private readonly connection: WriterConnection,
    private readonly options: PostgresBatchWriterOptions,
  ) {
    this.queue = new BatchQueue<Batch>({
      maxBatch: options.maxBatch,
      maxDelayMs: options.maxDelayMs,
      newBatch,
      // Numbered as sealed: a batch's number is what makes its retry idempotent (writer_batch).
      onSeal: (batch) => (batch.no = ++this.batchNo),
      write: (batch) => this.write(batch),
    });
  }

  /** Set while events are dropped for want of room; cleared once the backlog is down to half the bound. */
  get overflow(): Error | undefined {
    return this.overflowError;
  }

  /** The last batch that could not be committed, until one is again. */
  get loss(): Error | undefined {
    return this.lossError;
  }

  /** Set from close() on: every later write is refused. */
  get closed(): Error | undefined {
    return this.closedAt;
  }

  insertSession(row: SessionRow): Promise<void> {
    return this.add(() => `the start of session ${row.id}`, (batch) => batch.sessions.push(row));
  }

  /** `essential`: a connect or disconnect event, which the bound never drops. */
  insertEvent(row: EventRow, essential: boolean): Promise<void> {
    const what = () => `event ${row.seq} (${row.kind}) of session ${row.session_id}`;
    if (!essential && !this.closedAt && this.full()) {
      this.counts.droppedEvents++;
      return Promise.resolve();
    }
    return this.add(what, (batch) => {
      batch.events.push(row);
      this.counts.queued++;
    });
  }

  insertLedger(entry: LedgerEntry): Promise<void> {
    return this.add(() => `ledger entry ${entry.n} (${entry.kind} of session ${entry.session_id})`, (batch) => batch.ledger.push(entry));
  }

  endSession(row: EndRow): Promise<void> {
    return this.add(() => `the end of session ${row.id}`, (batch) => batch.ends.push(row));
  }

  insertCheckpoint(row: CheckpointRow): Promise<void> {
    return this.add(() => `checkpoint ${row.n}`, (batch) => batch.checkpoints.push(row));
  }

  /** Deletes the sessions (rows and events) and stores the signed record of it, in one transaction. */
  prune(row: PruneRow): Promise<void> {
    return this.add(() => `the removal of ${row.sessionIds.length} sessions past retention`, (batch) => batch.prunes.push(row));
  }

  /** Commits everything queued so far; resolves when it is (or was given up). */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /**
   * Refuses further writes, then waits up to `waitMs` for what is queued. What is still waiting
   * then (PostgreSQL unreachable) is given up and reported once; the connection is closed.
   */
  async close(waitMs: number): Promise<void> {
    this.closedAt ??= new Error(`the audit store ${this.options.location.display} is closed`);
    const done = this.flush();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([done.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), waitMs)))]);
    clearTimeout(timer);
    if (!inTime) {
      this.abandoned = { events: 0, writes: 0 };
      this.wakePause?.();
    }
    await this.connection.close();
    await done;
    if (this.abandoned && this.abandoned.writes > 0) {
      const { events, writes } = this.abandoned;
      this.options.report(
        new Error(
          `the audit store ${this.options.location.display} was closed while it could not be written: ${events} events (${writes} writes in all) were not recorded; ` +
            `last cause: ${this.connection.down?.message ?? 'none'}`,
        ),
      );
    }
  }

  stats(): PostgresWriterStats {
    return { ...this.counts, reconnects: this.connection.reconnects };
  }

  /** True when the event must be dropped: the buffer is (or just became) full. */
  private full(): boolean {
    if (this.overflowError) return true;
    if (this.counts.queued < this.options.maxBufferedEvents) return false;
    const cause = this.connection.down?.message ?? 'PostgreSQL is not keeping up';
    this.overflowError = new Error(
      `the audit store ${this.options.location.display} holds ${this.counts.queued} events it could not write yet, its limit: ` +
        `further events are dropped until it writes again (${cause})`,
    );
    this.options.report(this.overflowError);
    return true;
  }

  private add(what: () => string, put: (batch: Batch) => void): Promise<void> {
    if (this.closedAt) {
      this.options.report(new Error(`the audit store ${this.options.location.display} is closed: ${what()} was not recorded`));
      return Promise.resolve();
    }
    return this.queue.add(put);
  }

  /** Until the batch commits, or is given up: a write that cannot succeed, or close() stopped waiting. */
  private async write(batch: Batch): Promise<void> {
    try {
      for (let attempt = 0; ; attempt++) {
        let client: pg.Client;
        try {
          client = await this.connection.ready();
        } catch (error) {
          return this.lose(batch, error);
        }
        try {
          await commitBatch(client, { gateway: this.options.gateway, writer: this.options.writer, batch: batch.no, time: this.options.now() }, batch, this.options.location.display);
          return this.committed(batch);
        } catch (error) {
          if (isRetryable(error) && !this.abandoned) {
            // The session is dropped with its transaction (the server rolls it back); a new one
            // retries the whole batch.
            this.connection.lost(client, error);
            this.counts.retries++;
            await this.pause(retryDelay(attempt));
            continue;
          }
          if (!(error instanceof WriterReplacedError)) await client.query('ROLLBACK').catch(() => undefined);
          return this.lose(batch, error);
        }
      }
    } finally {
      this.counts.queued -= batch.events.length;
      batch.settle();
    }
  }

  private committed(batch: Batch): void {
    this.counts.eventsWritten += batch.events.length;
    this.counts.batches++;
    this.lossError = undefined;
    // Some room again before events are taken again, so the bound does not flap at its edge.
    if (this.overflowError && this.counts.queued - batch.events.length <= this.options.maxBufferedEvents / 2) this.overflowError = undefined;
  }

  private lose(batch: Batch, error: unknown): void {
    if (this.abandoned) {
      this.abandoned.events += batch.events.length;
      this.abandoned.writes += batch.size;
      return;
    }
    const lost = `${batch.events.length} event${batch.events.length === 1 ? '' : 's'}, ${batch.sessions.length} session start(s), ${batch.ends.length} session end(s), ${batch.ledger.length} ledger entries`;
    const failure = this.options.location.describe(`the audit store ${this.options.location.display} could not commit a batch (${lost} lost)`, error);
    this.lossError = failure;
    this.options.report(failure);
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wakePause = done;
    }).finally(() => (this.wakePause = undefined));
  }
}

function newBatch(): Batch {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  return { no: 0, sessions: [], events: [], ledger: [], ends: [], checkpoints: [], prunes: [], size: 0, done, settle };
}
