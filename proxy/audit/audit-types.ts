import type { CheckpointClaims, LedgerEntry, PruneClaims } from '../common/audit-chain-types.js';

// The audit store's contract: what gateways write through (SessionRecording) and what readers
// (the CLI, later the engine API) query. Stores (SQLite today, PostgreSQL later) implement it.

export type SessionProtocol = 'postgres' | 'http' | 'exec' | 'mcp';
export type SessionStatus = 'open' | 'closed' | 'aborted';
export type EventKind =
  | 'connect'
  | 'query'
  | 'decision'
  | 'approval'
  /** A result limit (limits.*) reached: the result stopped, held for approval, approved or denied. */
  | 'limit'
  | 'result'
  | 'error'
  | 'notice'
  | 'http_request'
  | 'http_response'
  | 'output'
  | 'input'
  | 'disconnect'
  /** A change to the gateway's configuration made through the engine API (the masking rule editor's save). */
  | 'config'
  /** An MCP tool call (protocol mcp) and its outcome: see proxy/mcp/mcp-record.ts. */
  | 'tool_call'
  | 'tool_result';

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
  /** The `sluice run` this session belongs to (its credential was presented): kept in the connect event. */
  readonly run?: string;
}

export interface SessionCounters {
  statements: number;
  errors: number;
  rows: number;
}

export interface SessionRecord extends SessionStart {
  readonly id: string;
  /** The gateway that recorded it (its signing key's kid), in a store several gateways share; absent in a SQLite store. */
  readonly gateway?: string;
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
  /** The previous event's hash (all zeros for seq 1): see proxy/common/audit-chain-types.ts. */
  readonly prevHash: string;
  /** sha256 of prevHash and this event's canonical JSON. */
  readonly hash: string;
}

/** What one live session writes through. Calls never throw and never block the caller. */
export interface SessionRecording {
  readonly id: string;
  /** The last event queued, as recorded (seq, time and hashes): what live views are told. */
  readonly lastEvent?: EventRecord;
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

/** Something that happened in a session, as session filters ask about it. */
export type SessionMark = 'denial' | 'approval' | 'masking' | 'error';

export interface SessionQuery {
  /** Most sessions returned (default 50). */
  readonly limit?: number;
  readonly resource?: string;
  readonly status?: SessionStatus;
  readonly protocol?: SessionProtocol;
  /** Part of the caller's subject (case-insensitive). */
  readonly identity?: string;
  /** Sessions that started at or after this (epoch ms). */
  readonly since?: number;
  /** Sessions that started before this (epoch ms). */
  readonly until?: number;
  /**
   * Sessions where each of these happened: a statement denied (by policy, an approver, the
   * masking guard or a limit), an approval requested, a result masked, an error (an `error`
   * event or a statement that failed; a statement the gateway refused is a denial, not an error).
   */
  readonly had?: readonly SessionMark[];
  /** Text found in one of the session's statements (case-insensitive, as recorded: masked). */
  readonly search?: string;
}

/** A gateway writing to a shared store, as the store registers it at the gateway's start. */
export interface GatewayRecord {
  /** Its signing key's kid (keyIdOf in proxy/common/checkpoint-verify.ts). */
  readonly id: string;
  /** Host name and data_dir, for people. */
  readonly name: string;
  /** Its Ed25519 public key as `sluice key show` prints it (publicKeyLine). */
  readonly publicKey: string;
  /** Epoch ms. */
  readonly firstSeen: number;
  readonly lastSeen: number;
}

/** Reading a store: the writing store does it, and so does `sluice sessions` from another process. */
export interface AuditReader {
  /** Where it is, for people: the SQLite file, or the PostgreSQL URL without credentials. */
  readonly file: string;
  /**
   * A shared store's gateways; undefined for a single-gateway store (SQLite), whose one ledger
   * readChain() returns. In a shared store each gateway keeps its own ledger, checkpoints and
   * retention records, signed with its own key.
   */
  gateways?(): Promise<GatewayRecord[]>;
  /** Newest first. */
  listSessions(query?: SessionQuery): Promise<SessionRecord[]>;
  getSession(id: string): Promise<SessionRecord | undefined>;
  /** In seq order. */
  listEvents(sessionId: string): Promise<EventRecord[]>;
  /**
   * Everything `sluice verify` checks besides the events: every session's seal, the ledger and
   * the checkpoints. In a shared store, those of one gateway (required there).
   */
  readChain(gateway?: string): Promise<ChainRecords>;
  close(): Promise<void>;
}

/** What signs checkpoints: the gateway's key (proxy/audit/signing-key.ts). */
export interface CheckpointSigner {
  readonly kid: string;
  sign(claims: CheckpointClaims): Promise<string>;
}

/** What signs retention records. */
export interface PruneSigner {
  readonly kid: string;
  signPrune(claims: PruneClaims): Promise<string>;
}

/** The store's chain records, in order. */
export interface ChainRecords {
  readonly sessions: readonly { readonly id: string; readonly status: SessionStatus; readonly finalHash: string | null }[];
  readonly ledger: readonly LedgerEntry[];
  readonly checkpoints: readonly { readonly n: number; readonly time: number; readonly ledgerN: number; readonly ledgerHead: string; readonly kid: string; readonly jws: string }[];
  /** Retention records: `sessions` is the canonical JSON of the PrunedSession list the JWS covers. */
  readonly prunes: readonly { readonly n: number; readonly horizon: number; readonly sessions: string; readonly jws: string }[];
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
  /**
   * Set while the store cannot take what the gateway records; the gateway refuses new sessions
   * and statements while it is set (fail closed). SQLite: from the first failed write on. A
   * PostgreSQL store: while its buffer is full or (strict) its connection is down; cleared once
   * it writes again.
   */
  readonly failure: Error | undefined;
  /** Resolves when everything queued so far is committed (or has failed). */
  flush(): Promise<void>;
  /**
   * Signs the ledger's head as it stands and stores the checkpoint, then flushes; does nothing
   * when no session started or ended since the last one.
   */
  checkpoint(signer: CheckpointSigner): Promise<void>;
  /**
   * Retention: removes sessions that ended before `horizon` (ms since the epoch), with a record
   * of them signed by `signer` so the ledger still verifies. Returns how many were removed.
   */
  prune(horizon: number, signer: PruneSigner): Promise<number>;
  stats(): AuditStoreStats;
  /** Flushes, then closes; idempotent. */
  close(): Promise<void>;
}
