import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { SessionRecording } from '../audit/audit-types.js';
import { MIN_SCRUBBED_LENGTH, NULLED_LINE, SECRET_REPLACEMENT } from '../exec/output-masker.js';
import type { Identity } from '../identity/identity.js';
import type { McpDeps } from './mcp-deps.js';
import { connectResource, type PgEndpoint } from './pg-query.js';

// One MCP session (one Mcp-Session-Id, or one stdio connection): the caller's identity, its audit
// session (protocol mcp), the session credential its PostgreSQL and HTTP calls log in with
// (revoked when it ends), its idle database connections, and the calls held for approval.

/** Longest an MCP session's credential lives: a session open longer re-issues it. */
const CREDENTIAL_TTL_MS = 12 * 3_600_000;
/** Idle connections kept per resource; more are closed when released. */
const MAX_IDLE_PER_RESOURCE = 2;
/** Results of approved calls kept for approval_status, at most. */
const MAX_SETTLED = 100;

export interface SessionClient {
  readonly address: string;
  readonly application: string | null;
}

/** A call the gateway holds for approval, and then its outcome until approval_status returns it. */
export interface HeldCall {
  readonly approval: string;
  readonly tool: string;
  readonly resource: string;
  /** undefined while the approval is pending. */
  outcome?: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string };
}

export class McpSession {
  readonly id = `mcp_${randomBytes(12).toString('base64url')}`;
  readonly identity: Identity;
  readonly recording: SessionRecording;
  /** Database and HTTP sessions this MCP session opened (their SessionStart.run is this id). */
  readonly linked: { readonly id: string; readonly protocol: string }[] = [];
  readonly #deps: McpDeps;
  readonly #idle = new Map<string, pg.Client[]>();
  readonly #busy = new Set<pg.Client>();
  readonly #held = new Map<string, HeldCall>();
  readonly #unsubscribe: () => void;
  #credential: { value: string; expiresAt: number } | undefined;
  #calls = 0;
  #errors = 0;
  #closed = false;
  lastUsed = Date.now();

  constructor(deps: McpDeps, identity: Identity, client: SessionClient) {
    this.#deps = deps;
    this.identity = identity;
    this.recording = deps.store.beginSession({
      resource: 'mcp',
      protocol: 'mcp',
      identity: { subject: identity.subject, issuer: identity.issuer, method: identity.method, groups: identity.groups },
      clientAddress: client.address,
      application: client.application,
      // Opened with a `sluice run` credential: the run's recording links this session.
      ...(identity.run !== undefined && { run: identity.run }),
    });
    this.#unsubscribe = deps.events.on('session.started', (session) => {
      if (session.run !== this.id || this.#closed) return;
      this.linked.push({ id: session.id, protocol: session.protocol });
      void this.recording.event('notice', { channel: 'mcp', action: 'link', session: session.id, protocol: session.protocol, severity: 'INFO', message: `opened ${session.protocol} session ${session.id} on ${session.resource}` });
    });
  }

  /** The credential PostgreSQL and HTTP calls present: stands for this caller, with `run` = this session. */
  credential(): string {
    const now = Date.now();
    if (this.#credential && this.#credential.expiresAt - 60_000 > now) return this.#credential.value;
    const expiresAt = Math.min(now + CREDENTIAL_TTL_MS, this.identity.expiresAt ?? Infinity);
    this.#deps.credentials.revoke(this.id);
    // issue() sets `run` to this session: the caller's own run (if any) stays in this session's record.
    const value = this.#deps.credentials.issue(this.identity, this.id, Math.max(expiresAt, now + 60_000));
    this.#credential = { value, expiresAt };
    return value;
  }

  /** An idle connection to `resource`, or a new one. */
  async acquire(resource: string, endpoint: PgEndpoint): Promise<pg.Client> {
    const client = this.#idle.get(resource)?.pop() ?? (await connectResource(endpoint, resource, this.credential()));
    this.#busy.add(client);
    return client;
  }

  /** Back to the idle list (or closed when broken, the session ended, or enough are idle). */
  release(resource: string, client: pg.Client, broken = false): void {
    this.#busy.delete(client);
    const idle = this.#idle.get(resource) ?? [];
    if (broken || this.#closed || idle.length >= MAX_IDLE_PER_RESOURCE) {
      void client.end().catch(() => undefined);
      return;
    }
    idle.push(client);
    this.#idle.set(resource, idle);
  }

  /** A string as it may be recorded: upstream secrets replaced, then the caller's content rules. */
  mask(text: string): string {
    let out = text;
    for (const secret of this.#deps.secrets()) if (secret.length >= MIN_SCRUBBED_LENGTH) out = out.split(secret).join(SECRET_REPLACEMENT);
    const content = this.#deps.masking().profileFor(this.identity.groups).content;
    if (content.empty) return out;
    const masked = content.mask(out, new Map());
    return masked === undefined ? out : (masked ?? NULLED_LINE);
  }

  /** Numbers tool calls in the record. */
  nextCall(): number {
    this.lastUsed = Date.now();
    return ++this.#calls;
  }

  countError(): void {
    this.#errors++;
  }

  hold(call: HeldCall): void {
    this.#held.set(call.approval, call);
    // Bounded: the oldest settled outcomes nobody asked for go first.
    if (this.#held.size > MAX_SETTLED) {
      for (const [id, entry] of this.#held) {
        if (entry.outcome === undefined) continue;
        this.#held.delete(id);
        break;
      }
    }
  }

  held(approval: string): HeldCall | undefined {
    return this.#held.get(approval);
  }

  /** approval_status returned a settled outcome: it is not kept after that. */
  forget(approval: string): void {
    this.#held.delete(approval);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Ends the session: credential revoked, connections closed (a held statement is cancelled by its disconnect), record sealed. */
  async close(status: 'closed' | 'aborted' = 'closed'): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    this.#deps.credentials.revoke(this.id);
    const clients = [...this.#busy, ...[...this.#idle.values()].flat()];
    this.#idle.clear();
    this.#busy.clear();
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await this.recording.end(status, { statements: this.#calls, errors: this.#errors, rows: 0 });
  }
}
