import pg from 'pg';
import { freezeApproval } from '../approval-snapshot.js';
import type { SessionRecording } from '../../audit/audit-types.js';
import type { Identity } from '../../identity/identity.js';
import {
  checkRuleOptions,
  executeRefusal,
  expirySettlement,
  MAX_TIMER_MS,
  notFound,
  notPendingMessage,
  pendingApproval,
  randomUlid,
  settled,
  SHUTDOWN_CAUSE,
  type ApprovalListener,
  type ApprovalRuleOptions,
  type Settlement,
} from '../approval-rules.js';
import { ApprovalError, type Approval, type ApprovalBroker, type ApprovalListQuery, type ApprovalOutcome, type ApprovalRequest, type DecideInput, type PendingApproval } from '../approval-types.js';
import { NotificationListener } from './approval-listener.js';
import { APPROVAL_MIGRATIONS } from './migrations/index.js';
import { migrateApprovals } from './approval-migrate.js';
import {
  cancelOrphans,
  CHANNEL,
  endIfPending,
  fetchApprovals,
  fetchOverdue,
  fetchView,
  insertApproval,
  markExecuted,
} from './approval-rows.js';
import { decideInDatabase, message } from './approval-decision.js';
import { SharedApprovalView, type Entry, type Hold } from './approval-view.js';

export interface SharedApprovalBrokerOptions extends ApprovalRuleOptions {
  /** postgres:// URL of the database every gateway of this system shares. */
  readonly connectionString: string;
  /** This gateway's id: the approvals it holds are marked with it. */
  readonly gatewayId: string;
  /** Epoch ms. */
  readonly now?: () => number;
  /** The holder's safety-net poll for missed notifications (default 3 s). */
  readonly pollIntervalMs?: number;
  /** Longest wait between reconnect attempts (default 5 s). */
  readonly maxBackoffMs?: number;
  /** How long one database call may take before it counts as failed (default 10 s). */
  readonly queryTimeoutMs?: number;
}

/** An ApprovalBroker shared by several gateways through PostgreSQL. */
export interface SharedApprovalBroker extends ApprovalBroker {
  decide(id: string, approver: Identity, input: DecideInput): Promise<Approval>;
  /** Whether the LISTEN connection is up; while it is not, requests fail closed. */
  readonly connected: boolean;
  /** Cancels this gateway's pending requests (synchronously, as SHUTDOWN_CAUSE), writes that, and closes the connections. */
  close(): Promise<void>;
  /** Retention (audit.retention): deletes approvals decided before `horizon` (epoch ms), with their votes; returns how many. */
  prune(horizon: number): Promise<number>;
}

const ORPHAN_CAUSE = 'the gateway holding it restarted: the client that sent the statement is gone';

/**
 * Connects, creates or upgrades the tables, cancels what this gateway held before a restart,
 * loads the view and starts listening. Rejects when the database cannot be reached.
 */
export async function openSharedApprovalBroker(options: SharedApprovalBrokerOptions): Promise<SharedApprovalBroker> {
  checkRuleOptions(options);
  if (!options.gatewayId.trim()) throw new RangeError('a shared approval broker needs a gateway id');
  const queryTimeoutMs = options.queryTimeoutMs ?? 10_000;
  const client: pg.ClientConfig = {
    connectionString: options.connectionString,
    connectionTimeoutMillis: Math.min(queryTimeoutMs, 5_000),
    query_timeout: queryTimeoutMs,
    keepAlive: true,
    application_name: `sluice approvals ${options.gatewayId}`.slice(0, 63),
  };
  const pool = new pg.Pool({ ...client, max: 4, idleTimeoutMillis: 30_000 });
  // An idle connection the server or network dropped: the pool discards it; the next call reconnects.
  pool.on('error', () => undefined);
  const broker = new PostgresApprovalBroker(options, pool, client);
  try {
    const migrator = await pool.connect();
    try {
      await migrateApprovals(migrator, APPROVAL_MIGRATIONS);
    } finally {
      migrator.release();
    }
    await cancelOrphans(pool, options.gatewayId, (options.now ?? Date.now)(), ORPHAN_CAUSE);
    await broker.start();
    return broker;
  } catch (error) {
    await broker.close().catch(() => undefined);
    throw new Error(`could not open the shared approval queue at ${redact(options.connectionString)}: ${(error as Error).message}`, { cause: error });
  }
}

class PostgresApprovalBroker implements SharedApprovalBroker {
  readonly #gateway: string;
  readonly #timeoutMs: number;
  readonly #quorum: number;
  readonly #selfApproval: boolean;
  readonly #historyLimit: number;
  readonly #now: () => number;
  readonly #pollMs: number;
  readonly #pool: pg.Pool;
  readonly #listener: NotificationListener;
  readonly #view: SharedApprovalView;
  /** Ids notified but not fetched yet. */
  readonly #dirty = new Set<string>();
  /** Ids whose local end (or single use) is not written yet: the database was unreachable. */
  readonly #unwritten = new Set<string>();
  #draining: Promise<void> | undefined;
  #resyncNeeded = false;
  #ticking = false;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: SharedApprovalBrokerOptions, pool: pg.Pool, client: pg.ClientConfig) {
    this.#historyLimit = checkRuleOptions(options);
    this.#gateway = options.gatewayId;
    this.#timeoutMs = options.timeoutMs;
    this.#quorum = options.quorum;
    this.#selfApproval = options.selfApproval;
    this.#now = options.now ?? (() => Date.now());
    this.#pollMs = options.pollIntervalMs ?? 3_000;
    this.#pool = pool;
    this.#view = new SharedApprovalView(this.#historyLimit, this.#now);
    this.#listener = new NotificationListener({
      client,
      channel: CHANNEL,
      minBackoffMs: 100,
      maxBackoffMs: options.maxBackoffMs ?? 5_000,
      heartbeatMs: Math.max(this.#pollMs, 1_000),
      onNotify: (id) => this.#touch(id),
      onReconnect: () => void this.#resync(),
      onLoss: () => (this.#resyncNeeded = true),
    });
  }

  get connected(): boolean {
    return this.#listener.up && !this.#closed;
  }

  async start(): Promise<void> {
    // Listening before loading: a change committed in between is notified, never missed.
    await this.#listener.start();
    for (const row of await fetchView(this.#pool, this.#historyLimit)) this.#view.apply(row);
    this.#poll = setInterval(() => void this.#tick(), this.#pollMs);
    this.#poll.unref();
  }

  request(request: ApprovalRequest, recording: SessionRecording): PendingApproval {
    const id = randomUlid();
    let resolve: (outcome: ApprovalOutcome) => void = () => undefined;
    const outcome = new Promise<ApprovalOutcome>((settle) => (resolve = settle));
    const approval = freezeApproval({ ...pendingApproval(request, id, this.#now(), this.#timeoutMs, this.#quorum), gateway: this.#gateway });
    const entry = this.#view.hold(approval, this.#gateway, recording, resolve);
    const hold = entry.hold!;
    // Fail closed: a request nobody else can see would wait for nothing.
    if (this.#closed) {
      this.#view.endHere(entry, { status: 'cancelled', reason: SHUTDOWN_CAUSE });
    } else if (!this.#listener.up) {
      this.#view.endHere(entry, { status: 'cancelled', reason: this.#unreachable(id, this.#listener.lastError) });
    } else {
      hold.stored = insertApproval(this.#pool, approval, this.#gateway).then(
        () => {
          entry.version = Math.max(entry.version, 0);
          return true;
        },
        (error: unknown) => {
          if (!hold.settled) this.#view.endHere(entry, { status: 'cancelled', reason: this.#unreachable(id, error) });
          // The insert may have committed with only its answer lost: the row must end too.
          this.#unwritten.add(id);
          return false;
        },
      );
      this.#arm(entry, hold);
    }
    return { approval, outcome };
  }

  async decide(id: string, approver: Identity, input: DecideInput): Promise<Approval> {
    if (this.#closed) throw new ApprovalError('unavailable', `cannot decide approval ${id}: this gateway is shutting down; decide it on another gateway`);
    const local = this.#view.entry(id);
    // A request that never reached the database ended here; say how, as for any ended one.
    if (local?.hold && !(await local.hold.stored)) throw new ApprovalError('not_pending', notPendingMessage(local.approval));
    const { row, refusal } = await decideInDatabase(this.#pool, id, approver, input, { now: this.#now, selfApproval: this.#selfApproval });
    const entry = this.#view.apply(row);
    if (refusal) throw refusal;
    return entry.version === row.version ? entry.approval : row.approval;
  }

  cancel(id: string, cause: string): void {
    const entry = this.#view.entry(id);
    if (!entry || entry.approval.status !== 'pending') return;
    const reason = cause.trim() || 'the request was cancelled';
    const hold = entry.hold;
    if (hold && !hold.settled) {
      // The requester is going away (disconnect, CancelRequest, shutdown): it ends here at once,
      // so its recording gets the cancel before the session is sealed, and the statement never
      // runs. The row follows only if still pending; a decision that committed first stays on the
      // row, unused.
      this.#view.endHere(entry, this.#dueOr(entry, { status: 'cancelled', reason }));
      void this.#write(entry);
      return;
    }
    // Another gateway's request: written first, then learned from the row.
    void this.#endInDatabase(entry, this.#dueOr(entry, { status: 'cancelled', reason }));
  }

  executed(id: string): void {
    const entry = this.#view.entry(id);
    if (!entry) throw notFound(id);
    const refusal = executeRefusal(entry.approval);
    if (refusal) throw refusal;
    this.#view.executed(entry);
    void this.#write(entry);
  }

  sessionGrant(sessionId: string, fingerprint: string): Approval | undefined {
    return this.#view.sessionGrant(sessionId, fingerprint);
  }

  get(id: string): Approval | undefined {
    return this.#view.get(id);
  }

  list(query?: ApprovalListQuery): Approval[] {
    return this.#view.list(query);
  }

  on(event: 'requested' | 'decided', listener: ApprovalListener): () => void {
    return this.#view.on(event, listener);
  }

  async prune(horizon: number): Promise<number> {
    const { rowCount } = await this.#pool.query("DELETE FROM sluice.approvals WHERE status <> 'pending' AND decided_at < to_timestamp($1::double precision / 1000)", [horizon]);
    return rowCount ?? 0;
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // --- internals ---

  async #shutdown(): Promise<void> {
    clearInterval(this.#poll);
    // Ended here at once, like the in-memory broker; the rows follow while the pool is still open.
    const ended: Entry[] = [];
    for (const id of [...this.#view.holding]) {
      const entry = this.#view.entry(id);
      if (entry?.hold && !entry.hold.settled) {
        this.#view.endHere(entry, { status: 'cancelled', reason: SHUTDOWN_CAUSE });
        ended.push(entry);
      }
    }
    await Promise.all(ended.map((entry) => this.#write(entry)));
    await this.#draining;
    await this.#listener.close();
    await this.#pool.end().catch(() => undefined);
  }

  /** Expiry, when the deadline passed before a cancel: the same order of precedence as in memory. */
  #dueOr(entry: Entry, settlement: Settlement): Settlement {
    return this.#now() >= entry.approval.expiresAt ? expirySettlement(entry.approval) : settlement;
  }

  #arm(entry: Entry, hold: Hold): void {
    const remaining = entry.approval.expiresAt - this.#now();
    if (remaining <= 0) {
      void this.#endInDatabase(entry, expirySettlement(entry.approval));
      return;
    }
    hold.timer = setTimeout(() => {
      hold.timer = undefined;
      if (!hold.settled) this.#arm(entry, hold);
    }, Math.min(remaining, MAX_TIMER_MS));
    // A held statement must not keep the process alive on its own.
    hold.timer.unref();
  }

  /**
   * Ends a pending approval in the database only if it is still pending, then takes the row as it
   * is: whichever of this end and a racing decision committed first is the one outcome. When the
   * database cannot be reached, the holder ends it here (fail closed) and writes it later.
   */
  async #endInDatabase(entry: Entry, settlement: Settlement): Promise<void> {
    const { hold } = entry;
    if (hold && !(await hold.stored)) return;
    const ended = settled(entry.approval, settlement, this.#now());
    try {
      await endIfPending(this.#pool, ended);
      for (const row of await fetchApprovals(this.#pool, [ended.id])) this.#view.apply(row);
    } catch {
      if (hold && !hold.settled) {
        this.#view.endHere(entry, settlement);
        this.#unwritten.add(entry.approval.id);
      }
    }
  }

  /** Writes what this gateway decided alone (an end, a single use); kept for the poll to retry when it fails. */
  async #write(entry: Entry): Promise<void> {
    await entry.hold?.stored;
    const { approval } = entry;
    try {
      let written = true;
      if (approval.executedAt !== undefined) written = await markExecuted(this.#pool, approval.id, approval.executedAt);
      else if (approval.status !== 'pending') written = await endIfPending(this.#pool, approval);
      this.#unwritten.delete(approval.id);
      // The row had moved on (a decision committed first): the view takes the row as it is.
      if (!written) this.#touch(approval.id);
    } catch {
      this.#unwritten.add(approval.id);
    }
  }

  /** A notification: fetched soon, together with any others that arrive meanwhile. */
  #touch(id: string): void {
    this.#dirty.add(id);
    this.#flush();
  }

  #flush(): void {
    if (this.#dirty.size > 0) this.#draining ??= this.#drain().finally(() => (this.#draining = undefined));
  }

  async #drain(): Promise<void> {
    while (this.#dirty.size > 0 && !this.#closed) {
      const ids = [...this.#dirty].slice(0, 200);
      for (const id of ids) this.#dirty.delete(id);
      try {
        for (const row of await fetchApprovals(this.#pool, ids)) this.#view.apply(row);
      } catch {
        // Kept for the next poll.
        for (const id of ids) this.#dirty.add(id);
        return;
      }
    }
  }

  /** After the listening connection came back: what changed meanwhile was not notified. */
  async #resync(): Promise<void> {
    if (this.#closed) return;
    this.#resyncNeeded = false;
    try {
      const rows = await fetchView(this.#pool, this.#historyLimit);
      const seen = new Set(rows.map((row) => row.approval.id));
      for (const row of rows) this.#view.apply(row);
      // Pending here but not in the view any more: decided long ago; look them up one by one.
      for (const entry of this.#view.entries()) if (entry.approval.status === 'pending' && !seen.has(entry.approval.id)) this.#touch(entry.approval.id);
    } catch {
      this.#resyncNeeded = true;
    }
  }

  /** The safety net: missed notifications, unwritten ends, overdue requests whose holder is gone. */
  async #tick(): Promise<void> {
    if (this.#closed || this.#ticking) return;
    this.#ticking = true;
    try {
      if (this.#resyncNeeded && this.#listener.up) await this.#resync();
      for (const id of this.#view.holding) this.#dirty.add(id);
      this.#flush();
      for (const id of [...this.#unwritten]) {
        const entry = this.#view.entry(id);
        if (entry) await this.#write(entry);
        else this.#unwritten.delete(id);
      }
      for (const row of await fetchOverdue(this.#pool, this.#gateway, this.#now(), 2 * this.#pollMs)) {
        if (this.#closed) break;
        await this.#endInDatabase(this.#view.entry(row.approval.id) ?? this.#view.apply(row), expirySettlement(row.approval));
      }
    } catch {
      // The database is unreachable: the next tick tries again.
    } finally {
      this.#ticking = false;
    }
  }

  #unreachable(id: string, error: unknown): string {
    const why = error === undefined ? 'no connection' : message(error);
    return `approval ${id} could not be requested: the shared approval database is unreachable from gateway ${this.#gateway} (${why}); the statement did not run, retry once the database is back`;
  }
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'the configured URL';
  }
}
