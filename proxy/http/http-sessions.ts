import type { Socket } from 'node:net';
import type { AuditStore, SessionCounters, SessionRecording } from '../audit/audit-types.js';
import type { Logger } from '../engine/logger.js';
import type { Identity } from '../identity/identity.js';
import type { Refusal } from './gateway-errors.js';

// Sessions on the HTTP gateway: one per client connection, caller and resource. A keep-alive
// connection that sends requests with one credential to one resource (a pipeline calling an API
// a thousand times) is one recorded session, as a PostgreSQL connection is; the first request
// with another identity or resource on the same connection ends it and starts the next. One
// session per request would cost the store a session row, a ledger entry and a seal per call,
// and would split what an auditor reads as one job's work into a thousand fragments.

/** The longest tail of earlier requests approvers see as context. */
const HISTORY = 5;

export class HttpSession {
  readonly counters: SessionCounters = { statements: 0, errors: 0, rows: 0 };
  readonly history: string[] = [];
  #ended = false;

  constructor(
    readonly recording: SessionRecording,
    readonly identity: Identity,
    readonly resource: string,
    private readonly log: Logger,
  ) {}

  get id(): string {
    return this.recording.id;
  }

  /** One request answered (by the upstream or the gateway); `failed` counts it as an error. */
  count(requestLine: string, failed: boolean): void {
    this.counters.statements++;
    if (failed) this.counters.errors++;
    this.history.push(requestLine);
    if (this.history.length > HISTORY) this.history.shift();
  }

  /** The gateway answered the request itself (refused by policy, approvers, a limit): its http_response event and counters. */
  refused(r: Refusal, requestLine: string, durationMs: number): void {
    void this.recording.event('http_response', {
      status: r.status,
      source: 'gateway',
      outcome: 'error',
      error: { code: r.code, message: r.message },
      ...(r.approval !== undefined ? { approval: r.approval } : {}),
      duration_ms: Math.round(durationMs * 1000) / 1000,
    });
    this.count(requestLine, true);
  }

  end(status: 'closed' | 'aborted', reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    void this.recording.end(status, this.counters);
    this.log.info('http session ended', { session: this.id, resource: this.resource, subject: this.identity.subject, reason, requests: this.counters.statements });
  }
}

/** What the gateway keeps per client connection. */
export class ClientConnection {
  /** The last credential and what it proved, so keep-alive requests skip a second signature check. */
  #credential: string | undefined;
  #identity: Identity | undefined;
  #session: HttpSession | undefined;
  #open: readonly string[] | undefined;
  /** Approvals this connection's requests wait for: cancelled if it goes away. */
  readonly held = new Set<string>();
  closed = false;

  constructor(readonly address: string) {}

  /** The identity this exact credential proved on this connection, while it is valid. */
  cachedIdentity(credential: string, now: number): Identity | undefined {
    if (credential !== this.#credential || !this.#identity) return undefined;
    if (this.#identity.expiresAt !== undefined && this.#identity.expiresAt <= now) return undefined;
    return this.#identity;
  }

  remember(credential: string, identity: Identity): void {
    this.#credential = credential;
    this.#identity = identity;
    this.#open = undefined;
  }

  /** The resources open to the remembered identity (policy.resourcesFor), computed once per identity. */
  openResources(identity: Identity, compute: () => readonly string[]): readonly string[] {
    if (identity !== this.#identity) return compute();
    return (this.#open ??= compute());
  }

  /** The session for this caller and resource: the current one, or a new one (ending the current). */
  session(identity: Identity, resource: string, start: { store: AuditStore; application: string | null; log: Logger }): HttpSession {
    const current = this.#session;
    if (current && current.resource === resource && current.identity.subject === identity.subject && current.identity.issuer === identity.issuer) return current;
    current?.end('closed', 'the connection went on with another caller or resource');
    const recording = start.store.beginSession({
      resource,
      protocol: 'http',
      identity: { subject: identity.subject, issuer: identity.issuer, method: identity.method, groups: identity.groups },
      clientAddress: this.address,
      application: start.application,
      ...(identity.run !== undefined && { run: identity.run }),
    });
    const session = new HttpSession(recording, identity, resource, start.log);
    start.log.info('http session started', { session: session.id, resource, subject: identity.subject, client: this.address });
    this.#session = session;
    return session;
  }

  /** The connection closed: its session ends. */
  close(reason: string): void {
    this.closed = true;
    this.#session?.end('closed', reason);
    this.#session = undefined;
  }
}

const connections = new WeakMap<Socket, ClientConnection>();

/** The connection state of a client socket, created at its first request. */
export function connectionOf(socket: Socket, onClose: (connection: ClientConnection) => void): ClientConnection {
  let connection = connections.get(socket);
  if (!connection) {
    const created = new ClientConnection(`${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`);
    connections.set(socket, created);
    socket.once('close', () => onClose(created));
    connection = created;
  }
  return connection;
}
