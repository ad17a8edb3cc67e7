import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { canonicalJson } from '../../common/canonical-json.js';
import type {
  AuditReader,
  AuditStore,
  ChainRecords,
  CheckpointSigner,
  EventRecord,
  GatewayRecord,
  PruneSigner,
  SessionQuery,
  SessionRecord,
  SessionRecording,
  SessionStart,
} from '../audit-types.js';
import { nowMicros } from '../clock.js';
import { sha256HexSync, type Ledger } from '../event-chain.js';
import { AuditSchemaError, AuditStoreMissingError } from '../store-errors.js';
import { ulid } from '../ulid.js';
import { PostgresBatchWriter, type PostgresWriterStats } from './batch-writer.js';
import { registerGateway, type GatewayIdentity } from './gateway-registration.js';
import { checkReadableVersion, migratePostgres } from './migrate.js';
import { getSession, listEvents, listGateways, listSessions, readChain, sessionsToPrune } from './read-queries.js';
import { PostgresSessionRecording } from './session-recording.js';
import { errorText, storeLocation, type StoreLocation } from './store-location.js';
import { WriterConnection } from './writer-connection.js';

// The audit store several gateways share, on PostgreSQL: the AuditStore contract of the SQLite
// store, with each gateway keeping its own ledger, checkpoints and retention records (it signs
// them with its own key, and no gateway can know another's ledger head), and with an outage of
// the server ridden out in memory up to a bound (batch-writer.ts).

export interface PostgresAuditStoreOptions {
  /** postgres://user:password@host:port/database; the password never leaves this module in a message. */
  readonly connectionString: string;
  /** batched: group commits every ~20 ms or 500 writes. strict: commit at once; an event's promise resolves after its COMMIT. */
  readonly durability: 'strict' | 'batched';
  /** This gateway: its signing key's kid, a name for people, its public key line. */
  readonly gateway: GatewayIdentity;
  /** Records lost or refused (not an outage being waited out); `failure` says whether the store can record now. */
  readonly onError?: (error: Error) => void;
  /** Events kept in memory while PostgreSQL cannot be written (default 100,000); past it they are dropped and `failure` is set. */
  readonly maxBufferedEvents?: number;
  /** ms since the epoch (tests); event times follow it too. */
  readonly now?: () => number;
  /** How long close() waits for queued writes when PostgreSQL is unreachable (default 5 s). */
  readonly closeTimeoutMs?: number;
}

/** Batched durability: a batch commits at this many writes, or this long after its first (as in SQLite). */
export const PG_BATCH_MAX_WRITES = 500;
export const PG_BATCH_MAX_DELAY_MS = 20;
export const DEFAULT_MAX_BUFFERED_EVENTS = 100_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
const READER_CONNECTIONS = 4;

/**
 * Opens the shared store as `gateway`: migrates it when needed (one gateway at a time), registers
 * the gateway, and seals the sessions its previous run left open before it returns.
 */
export async function openPostgresAuditStore(options: PostgresAuditStoreOptions): Promise<PostgresAuditStore> {
  const location = storeLocation(options.connectionString);
  const now = options.now ?? Date.now;
  let connection: WriterConnection | undefined;
  let store: PostgresAuditStore | undefined;
  try {
    connection = await WriterConnection.open(location);
    const client = await connection.ready();
    await migratePostgres(client, location.display);
    const writer = randomUUID();
    const state = await registerGateway(client, options.gateway, writer, now(), location.display);
    store = new PostgresAuditStore(readerPool(location), location, connection, options, writer, state.ledger, state);
    return store;
  } catch (error) {
    await connection?.close();
    throw openError(location, error);
  }
}

/** Opens an existing shared store for reading, e.g. from `sluice sessions`. */
export async function openPostgresAuditReader(connectionString: string): Promise<PostgresAuditReader> {
  const location = storeLocation(connectionString);
  const pool = readerPool(location);
  try {
    const client = await pool.connect();
    try {
      await checkReadableVersion(client, location.display);
    } finally {
      client.release();
    }
    return new PostgresAuditReader(pool, location);
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw openError(location, error);
  }
}

export class PostgresAuditReader implements AuditReader {
  private closing: Promise<void> | undefined;

  constructor(
    protected readonly pool: pg.Pool,
    protected readonly location: StoreLocation,
  ) {}

  /** host:port/database: never the password. */
  get file(): string {
    return this.location.display;
  }

  gateways(): Promise<GatewayRecord[]> {
    return this.read('list its gateways', () => listGateways(this.pool));
  }

  listSessions(query?: SessionQuery): Promise<SessionRecord[]> {
    return this.read('list sessions', () => listSessions(this.pool, query));
  }

  getSession(id: string): Promise<SessionRecord | undefined> {
    return this.read(`read session ${id}`, () => getSession(this.pool, id));
  }

  listEvents(sessionId: string): Promise<EventRecord[]> {
    return this.read(`read the events of session ${sessionId}`, () => listEvents(this.pool, sessionId));
  }

  /** One gateway's chain records; without `gateway`, those of the store's only gateway (a reader) or its own (a writing store). */
  async readChain(gateway?: string): Promise<ChainRecords> {
    const id = gateway ?? (await this.defaultGateway());
    return this.read(`read the chain of gateway ${id}`, async () => {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      try {
        return await readChain(client, id);
      } catch (error) {
        broken = error as Error;
        throw error;
      } finally {
        // A client whose transaction could not even roll back is not given to the next caller.
        client.release(broken);
      }
    });
  }

  close(): Promise<void> {
    this.closing ??= this.closeConnections();
    return this.closing;
  }

  protected async defaultGateway(): Promise<string> {
    const gateways = await this.gateways();
    if (gateways.length === 1) return gateways[0]!.id;
    throw new Error(
      `the audit store ${this.file} holds the chains of ${gateways.length} gateways, each verified with its own key: name one (${gateways.map((gateway) => `${gateway.id} ${gateway.name}`).join(', ') || 'none yet'})`,
    );
  }

  protected closeConnections(): Promise<void> {
    return this.pool.end();
  }

  /** Reader errors, redacted: pg and Node may quote what they were given. */
  private async read<T>(what: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      throw this.location.describe(`the audit store ${this.file} could not ${what}`, error);
    }
  }
}

export class PostgresAuditStore extends PostgresAuditReader implements AuditStore {
  private readonly writer: PostgresBatchWriter;
  private readonly strict: boolean;
  private readonly now: () => number;
  private readonly micros: () => number;
  /** The first write refused or given up once close() began: the store stays failed from then on. */
  private afterClose: Error | undefined;
  /** The ledger entry the last checkpoint of this run covered. */
  private checkpointed = -1;
  private checkpoints: number;
  private prunes: number;

  constructor(
    pool: pg.Pool,
    location: StoreLocation,
    private readonly connection: WriterConnection,
    private readonly options: PostgresAuditStoreOptions,
    writer: string,
    private readonly ledger: Ledger,
    numbers: { readonly checkpoints: number; readonly prunes: number },
  ) {
    super(pool, location);
    this.strict = options.durability === 'strict';
    this.now = options.now ?? Date.now;
    const now = options.now;
    this.micros = now ? () => Math.round(now() * 1000) : nowMicros;
    this.checkpoints = numbers.checkpoints;
    this.prunes = numbers.prunes;
    this.writer = new PostgresBatchWriter(connection, {
      // strict: commit on the next turn of the event loop; writes arriving meanwhile share it.
      maxBatch: PG_BATCH_MAX_WRITES,
      maxDelayMs: this.strict ? 0 : PG_BATCH_MAX_DELAY_MS,
      maxBufferedEvents: options.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS,
      gateway: options.gateway.id,
      writer,
      location,
      now: this.now,
      report: (error) => this.report(error),
    });
  }

  /** This gateway's id (its signing key's kid). */
  get gateway(): string {
    return this.options.gateway.id;
  }

  /**
   * Live: set while the store cannot take what the gateway records (its buffer is full; strict:
   * its connection is down; a batch was just lost), cleared once it writes again. After close,
   * set for good by the first write it refused.
   */
  get failure(): Error | undefined {
    return this.afterClose ?? this.writer.overflow ?? (this.strict ? this.connection.down : undefined) ?? this.writer.loss;
  }

  beginSession(start: SessionStart): SessionRecording {
    const recording = new PostgresSessionRecording(ulid(), this.writer, this.ledger, this.micros);
    recording.start(start);
    return recording;
  }

  flush(): Promise<void> {
    return this.writer.flush();
  }

  async checkpoint(signer: CheckpointSigner): Promise<void> {
    this.checkSigner(signer.kid);
    const { n, head } = this.ledger.last;
    if (n === this.checkpointed) return;
    this.checkpointed = n;
    const claims = { kid: signer.kid, time: this.now(), ledger_n: n, ledger_head: head };
    const jws = await signer.sign(claims);
    void this.writer.insertCheckpoint({ n: ++this.checkpoints, time: claims.time, ledgerN: n, ledgerHead: head, kid: signer.kid, jws });
    await this.writer.flush();
  }

  async prune(horizon: number, signer: PruneSigner): Promise<number> {
    this.checkSigner(signer.kid);
    await this.writer.flush();
    const sessions = await sessionsToPrune(this.pool, this.gateway, horizon).catch((error: unknown) => {
      throw this.location.describe(`the audit store ${this.file} could not find the sessions past retention`, error);
    });
    if (sessions.length === 0) return 0;
    const text = canonicalJson(sessions);
    const claims = { kid: signer.kid, time: this.now(), horizon, count: sessions.length, sessions_sha256: sha256HexSync(text) };
    const jws = await signer.signPrune(claims);
    void this.writer.prune({ n: ++this.prunes, time: claims.time, horizon, sessions: text, kid: signer.kid, jws, sessionIds: sessions.map((session) => session.id) });
    await this.writer.flush();
    return sessions.length;
  }

  stats(): PostgresWriterStats {
    return this.writer.stats();
  }

  protected override defaultGateway(): Promise<string> {
    return Promise.resolve(this.gateway);
  }

  protected override async closeConnections(): Promise<void> {
    await this.writer.close(this.options.closeTimeoutMs ?? DEFAULT_CLOSE_TIMEOUT_MS);
    await this.pool.end();
  }

  /** This gateway's chains verify with its own key only: a record signed with another could never verify. */
  private checkSigner(kid: string): void {
    if (kid !== this.gateway) throw new Error(`the signing key ${kid} is not gateway ${this.gateway}'s: its checkpoints and retention records must be signed with its own key`);
  }

  private report(error: Error): void {
    if (this.writer.closed) this.afterClose ??= error;
    try {
      this.options.onError?.(error);
    } catch {
      // A throwing handler must not break the writer that called it.
    }
  }
}

function readerPool(location: StoreLocation): pg.Pool {
  const pool = new pg.Pool({ ...location.clientConfig('reader'), max: READER_CONNECTIONS, idleTimeoutMillis: 30_000 });
  // An idle connection that dies is dropped by the pool, and the next query dials anew; without
  // a listener the error would crash the process.
  pool.on('error', () => undefined);
  return pool;
}

/** What open throws: the schema and missing-store errors as they are, anything else redacted and naming the store. */
function openError(location: StoreLocation, error: unknown): Error {
  if (error instanceof AuditSchemaError || error instanceof AuditStoreMissingError) return error;
  // Most already say which store and what happened (could not be upgraded, cannot be reached).
  if (errorText(error).startsWith(`the audit store ${location.display}`)) return location.describe('', error);
  return location.describe(`the audit store ${location.display} cannot be opened`, error);
}
