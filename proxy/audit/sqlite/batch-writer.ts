import type { LedgerEntry } from '../../common/audit-chain-types.js';
import { BatchQueue, type QueuedBatch } from '../batch-queue.js';
import { INSERT_CHECKPOINT_SQL, INSERT_LEDGER_SQL, INSERT_PRUNE_SQL } from './ledger-queries.js';
import { END_SESSION_SQL, INSERT_SESSION_SQL } from './session-queries.js';
import type { EventRow } from '../event-chain.js';
import { eventBatchParams, insertEventBatchesSql } from './event-queries.js';
import type { PreparedStatement, SqliteConnection, SqlParams } from './sqlite-connection.js';

// The store's one writer. Writes are queued in memory and committed in batches: one transaction
// per batch, prepared statements, many event rows per INSERT. A batch is sealed when it holds
// `maxBatch` writes or `maxDelayMs` after its first write (0: on the next turn of the event
// loop, so a burst still shares a commit), and batches commit strictly in order. Every write's
// promise is its batch's commit; it never rejects: a failed batch goes to `report`.

export interface BatchWriterOptions {
  readonly maxBatch: number;
  readonly maxDelayMs: number;
  /** A batch that could not be committed (its writes are lost), or a write after close. */
  readonly report: (error: Error) => void;
}

interface Batch extends QueuedBatch {
  readonly sessions: SqlParams[];
  readonly events: EventRow[];
  readonly ledger: LedgerEntry[];
  readonly checkpoints: SqlParams[];
  /** Retention: the signed record, and the sessions whose rows go with it. */
  readonly prunes: { readonly record: SqlParams; readonly sessions: readonly string[] }[];
  readonly ends: SqlParams[];
  size: number;
  readonly done: Promise<void>;
  readonly settle: () => void;
}

/** Event rows per INSERT statement; smaller remainders use the power-of-two sizes below it. */
const ROWS_PER_INSERT = 256;

export class BatchWriter {
  private readonly queue: BatchQueue<Batch>;
  private closed = false;
  private readonly statements = new Map<string, Promise<PreparedStatement>>();
  private readonly counts = { eventsWritten: 0, batches: 0, queued: 0 };

  constructor(
    private readonly db: SqliteConnection,
    private readonly options: BatchWriterOptions,
  ) {
    this.queue = new BatchQueue({ maxBatch: options.maxBatch, maxDelayMs: options.maxDelayMs, newBatch, write: (batch) => this.write(batch) });
  }

  /** `what` names the write in the report when it cannot be made (built only then). */
  insertSession(params: SqlParams, what: () => string): Promise<void> {
    return this.add(what, (batch) => batch.sessions.push(params));
  }

  insertEvent(row: EventRow): Promise<void> {
    return this.add(() => `event ${row.seq} (${row.kind}) of session ${row.session_id}`, (batch) => {
      batch.events.push(row);
      this.counts.queued++;
    });
  }

  insertLedger(entry: LedgerEntry): Promise<void> {
    return this.add(() => `ledger entry ${entry.n} (${entry.kind} of session ${entry.session_id})`, (batch) => batch.ledger.push(entry));
  }

  insertCheckpoint(params: SqlParams): Promise<void> {
    return this.add(() => 'a signed checkpoint', (batch) => batch.checkpoints.push(params));
  }

  /** Deletes `sessions` (rows and events) and stores the signed record of it, in one transaction. */
  prune(record: SqlParams, sessions: readonly string[]): Promise<void> {
    return this.add(() => `the removal of ${sessions.length} sessions past retention`, (batch) => batch.prunes.push({ record, sessions }));
  }

  endSession(params: SqlParams, what: () => string): Promise<void> {
    return this.add(what, (batch) => batch.ends.push(params));
  }

  /** Commits everything queued so far; resolves when it is (or has failed). */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /** Flushes, then refuses further writes (they are reported, not thrown) and frees the statements. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    const statements = await Promise.allSettled(this.statements.values());
    this.statements.clear();
    for (const statement of statements) if (statement.status === 'fulfilled') await statement.value.finalize();
  }

  stats(): { readonly eventsWritten: number; readonly batches: number; readonly queued: number } {
    return { ...this.counts };
  }

  private add(what: () => string, put: (batch: Batch) => void): Promise<void> {
    if (this.closed) {
      this.options.report(new Error(`the audit store ${this.db.file} is closed: ${what()} was not recorded`));
      return Promise.resolve();
    }
    return this.queue.add(put);
  }

  private async write(batch: Batch): Promise<void> {
    try {
      await this.commit(batch);
      this.counts.eventsWritten += batch.events.length;
      this.counts.batches++;
    } catch (error) {
      await this.db.run('ROLLBACK').catch(() => undefined);
      const lost = `${batch.events.length} event${batch.events.length === 1 ? '' : 's'}, ${batch.sessions.length} session start(s), ${batch.ends.length} session end(s)`;
      this.options.report(new Error(`the audit store ${this.db.file} could not commit a batch (${lost} lost): ${(error as Error).message}`, { cause: error }));
    } finally {
      this.counts.queued -= batch.events.length;
      batch.settle();
    }
  }

  private async commit(batch: Batch): Promise<void> {
    // IMMEDIATE: take the write lock up front rather than upgrading from a read lock midway.
    await this.db.run('BEGIN IMMEDIATE');
    for (const params of batch.sessions) await (await this.statement(INSERT_SESSION_SQL)).run(params);
    const rows = eventBatchParams(batch.events);
    let at = 0;
    while (at < rows.length) {
      const count = chunkSize(rows.length - at);
      await (await this.statement(insertEventBatchesSql(count))).run(rows.slice(at, at + count).flat());
      at += count;
    }
    for (const entry of batch.ledger) {
      await (await this.statement(INSERT_LEDGER_SQL)).run([entry.n, entry.kind, entry.session_id, entry.hash, entry.time, entry.prev, entry.entry_hash]);
    }
    for (const params of batch.ends) await (await this.statement(END_SESSION_SQL)).run(params);
    for (const params of batch.checkpoints) await (await this.statement(INSERT_CHECKPOINT_SQL)).run(params);
    for (const prune of batch.prunes) {
      for (const id of prune.sessions) {
        await (await this.statement('DELETE FROM event_batches WHERE session_id = ?')).run([id]);
        await (await this.statement('DELETE FROM sessions WHERE id = ?')).run([id]);
      }
      await (await this.statement(INSERT_PRUNE_SQL)).run(prune.record);
    }
    await this.db.run('COMMIT');
  }

  private statement(sql: string): Promise<PreparedStatement> {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      // A failed prepare is retried with the next batch rather than cached.
      statement.catch(() => this.statements.delete(sql));
      this.statements.set(sql, statement);
    }
    return statement;
  }
}

/** The biggest power of two up to ROWS_PER_INSERT that fits in `remaining`. */
function chunkSize(remaining: number): number {
  let rows = ROWS_PER_INSERT;
  while (rows > remaining) rows >>= 1;
  return rows;
}

function newBatch(): Batch {
  let settle!: () => void;
  const done = new Promise<void>((resolve) => (settle = resolve));
  return { sessions: [], events: [], ledger: [], checkpoints: [], prunes: [], ends: [], size: 0, done, settle };
}
