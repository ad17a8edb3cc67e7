import type { AuditReader, AuditStore, ChainRecords, CheckpointSigner, PruneSigner, AuditStoreOptions, AuditStoreStats, EventRecord, SessionQuery, SessionRecord, SessionRecording, SessionStart } from './audit-types.js';
import { BatchWriter } from './sqlite/batch-writer.js';
import { listEvents } from './sqlite/event-queries.js';
import { Ledger, sha256HexSync } from './event-chain.js';
import { canonicalJson } from '../common/canonical-json.js';
import { ledgerHead, readChain, sessionsToPrune } from './sqlite/ledger-queries.js';
import { getSession, listSessions, sealOrphanedSessions } from './sqlite/session-queries.js';
import type { SqliteConnection } from './sqlite/sqlite-connection.js';
import { SqliteSessionRecording } from './sqlite/sqlite-recording.js';
import { auditFile, openReaderConnection, openWriterConnection } from './sqlite/store-file.js';
import { ulid } from './ulid.js';

export { AuditStoreMissingError, auditFile } from './sqlite/store-file.js';
export { AuditSchemaError } from './sqlite/migrate.js';
export type { AuditStore, AuditStoreOptions, AuditReader } from './audit-types.js';

/** Batched durability: a batch commits at this many writes, or this long after its first. */
export const BATCH_MAX_WRITES = 500;
export const BATCH_MAX_DELAY_MS = 20;

/**
 * Opens (creating and migrating when needed) `<dataDir>/audit.sqlite` as this process's one
 * writer. Sessions a previous run left open are marked aborted before it returns.
 */
export async function openAuditStore(options: AuditStoreOptions): Promise<AuditStore> {
  const writer = await openWriterConnection(options.dataDir, options.durability);
  let reader: SqliteConnection | undefined;
  let ledger: Ledger;
  try {
    // Sessions still 'open' now were left so by a run that crashed or was killed: no process
    // records them any more, so they are marked 'aborted' and sealed at their last recorded
    // event (before this run begins its own).
    const head = await ledgerHead(writer);
    ledger = new Ledger(head.n, head.head);
    await sealOrphanedSessions(writer, ledger);
    // Queries use their own read-only connection: they see committed batches only and never
    // wait behind the writer's queue.
    reader = await openReaderConnection(writer.file);
  } catch (error) {
    await writer.close().catch(() => undefined);
    throw error;
  }
  return new SqliteAuditStore(writer, reader, options, ledger);
}

/** Opens an existing store read-only, e.g. from `sluice sessions` while `sluice serve` writes it. */
export async function openAuditReader(dataDir: string): Promise<AuditReader> {
  const db = await openReaderConnection(auditFile(dataDir));
  return new SqliteAuditReader(db);
}

class SqliteAuditReader implements AuditReader {
  private closing: Promise<void> | undefined;

  constructor(protected readonly reader: SqliteConnection) {}

  get file(): string {
    return this.reader.file;
  }

  listSessions(query?: SessionQuery): Promise<SessionRecord[]> {
    return listSessions(this.reader, query);
  }

  getSession(id: string): Promise<SessionRecord | undefined> {
    return getSession(this.reader, id);
  }

  listEvents(sessionId: string): Promise<EventRecord[]> {
    return listEvents(this.reader, sessionId);
  }

  readChain(): Promise<ChainRecords> {
    return readChain(this.reader);
  }

  close(): Promise<void> {
    this.closing ??= this.closeConnections();
    return this.closing;
  }

  protected closeConnections(): Promise<void> {
    return this.reader.close();
  }
}

class SqliteAuditStore extends SqliteAuditReader implements AuditStore {
  private readonly writer: BatchWriter;
  private firstFailure: Error | undefined;
  /** The ledger entry the last checkpoint of this run covered. */
  private checkpointed = -1;

  constructor(
    private readonly db: SqliteConnection,
    reader: SqliteConnection,
    private readonly options: AuditStoreOptions,
    private readonly ledger: Ledger,
  ) {
    super(reader);
    const strict = options.durability === 'strict';
    this.writer = new BatchWriter(db, {
      maxBatch: BATCH_MAX_WRITES,
      // strict: commit on the next turn of the event loop; writes arriving meanwhile share it.
      maxDelayMs: strict ? 0 : BATCH_MAX_DELAY_MS,
      report: (error) => this.report(error),
    });
  }

  get failure(): Error | undefined {
    return this.firstFailure;
  }

  beginSession(start: SessionStart): SessionRecording {
    const recording = new SqliteSessionRecording(ulid(), this.writer, (kind, sessionId, hash, time) => this.ledger.append(kind, sessionId, hash, time));
    recording.start(start);
    return recording;
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async prune(horizon: number, signer: PruneSigner): Promise<number> {
    await this.writer.flush();
    const sessions = await sessionsToPrune(this.reader, horizon);
    if (sessions.length === 0) return 0;
    const text = canonicalJson(sessions);
    const claims = { kid: signer.kid, time: Date.now(), horizon, count: sessions.length, sessions_sha256: sha256HexSync(text) };
    void this.writer.prune([claims.time, horizon, text, signer.kid, await signer.signPrune(claims)], sessions.map((session) => session.id));
    await this.writer.flush();
    return sessions.length;
  }

  async checkpoint(signer: CheckpointSigner): Promise<void> {
    const { n, head } = this.ledger.last;
    if (n === this.checkpointed) return;
    this.checkpointed = n;
    const claims = { kid: signer.kid, time: Date.now(), ledger_n: n, ledger_head: head };
    void this.writer.insertCheckpoint([claims.time, n, head, signer.kid, await signer.sign(claims)]);
    await this.writer.flush();
  }

  stats(): AuditStoreStats {
    return this.writer.stats();
  }

  protected override async closeConnections(): Promise<void> {
    await this.writer.close();
    await Promise.allSettled([this.db.close(), this.reader.close()]).then((results) => {
      const failed = results.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    });
  }

  private report(error: Error): void {
    this.firstFailure ??= error;
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing handler must not break the writer that called it.
    }
  }
}
