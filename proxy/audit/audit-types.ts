// The audit store's contract: what gateways write through (SessionRecording) and what readers
// (the CLI, later the engine API) query. Stores (SQLite today, PostgreSQL later) implement it.

export type SessionProtocol = 'postgres' | 'http' | 'exec' | 'mcp';
export type SessionStatus = 'open' | 'closed' | 'aborted';
export type EventKind =
  | 'connect'
  | 'query'
  | 'decision'
  | 'approval'
  | 'result'
  | 'error'
  | 'notice'
  | 'http_request'
  | 'http_response'
  | 'output'
  | 'input'
  | 'disconnect';

export const SESSION_STATUSES: readonly SessionStatus[] = ['open', 'closed', 'aborted'];

export interface RecordedIdentity {
  readonly subject: string;
  readonly issuer: string;
  readonly method: string;
  readonly groups: readonly string[];
}

export interface SessionStart {
  readonly resource: string;
  readonly protocol: SessionProtocol;
  readonly identity: RecordedIdentity;
  readonly clientAddress: string;
  readonly application: string | null;
}

export interface SessionCounters {
  statements: number;
  errors: number;
  rows: number;
}

export interface SessionRecord extends SessionStart {
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly status: SessionStatus;
  readonly counters: SessionCounters;
}

export interface EventRecord {
  readonly sessionId: string;
  /** 1, 2, 3, … within its session: the order the gateway saw things in. */
  readonly seq: number;
  /** Microseconds since the epoch. */
  readonly time: number;
  readonly kind: EventKind;
  readonly payload: unknown;
}

/** What one live session writes through. Calls never throw and never block the caller. */
export interface SessionRecording {
  readonly id: string;
  /** Queues an event; the promise resolves once it is committed (batched callers ignore it), and never rejects: failures go to the store's onError and `failure`. */
  event(kind: EventKind, payload: Readonly<Record<string, unknown>>): Promise<void>;
  end(status: 'closed' | 'aborted', counters: SessionCounters): Promise<void>;
}

export interface AuditStoreOptions {
  /** `<dataDir>/audit.sqlite`; the directory is created (0700) when missing. */
  readonly dataDir: string;
  /** batched: group commits every ~20 ms or 500 events, synchronous=NORMAL. strict: commit at once, fsync each commit. */
  readonly durability: 'strict' | 'batched';
  /** Called for every write that failed (and for writes after close); `failure` is set too. */
  readonly onError?: (error: Error) => void;
}

export interface SessionQuery {
  /** Most sessions returned (default 50). */
  readonly limit?: number;
  readonly resource?: string;
  readonly status?: SessionStatus;
}

/** Reading a store: the writing store does it, and so does `sluice sessions` from another process. */
export interface AuditReader {
  readonly file: string;
  /** Newest first. */
  listSessions(query?: SessionQuery): Promise<SessionRecord[]>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** In seq order. */
  listEvents(sessionId: string): Promise<EventRecord[]>;
  close(): Promise<void>;
}

export interface AuditStoreStats {
  /** Events committed (connect and disconnect included). */
  readonly eventsWritten: number;
  /** Transactions committed. */
  readonly batches: number;
  /** Events waiting for their transaction. */
  readonly queued: number;
}

export interface AuditStore extends AuditReader {
  /** Sync: the session row and its `connect` event are queued and the id is returned at once. */
  beginSession(start: SessionStart): SessionRecording;
  /** Set once a write failed; the gateway refuses new work while it is set (fail closed). */
  readonly failure: Error | undefined;
  /** Resolves when everything queued so far is committed (or has failed). */
  flush(): Promise<void>;
  stats(): AuditStoreStats;
  /** Flushes, then closes; idempotent. */
  close(): Promise<void>;
}
