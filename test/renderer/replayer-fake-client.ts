import type { ApiEventMessage, ApiInput, ApiMethodName, ApiOutput, ApiResult, EventRecord, SessionMark, SessionRecord } from '../../proxy/api/api-contract.js';
import type { ConnectionState, EngineClient } from '../../renderer/src/engine-client.js';

// An in-memory EngineClient for the sessions and replay screens' component tests (the one place
// a fake engine is fine; test/e2e runs the real one). It answers the session methods from its
// lists, records every call, and emits engine events the way the WebSocket delivers them.

export class FakeSessionsClient implements EngineClient {
  readonly label = 'test engine';
  readonly calls: { method: ApiMethodName; input: unknown }[] = [];
  readonly #listeners = new Set<(message: ApiEventMessage) => void>();

  constructor(
    public sessions: SessionRecord[] = [],
    public events: Map<string, EventRecord[]> = new Map(),
    /** What happened in each session, for `had` (the store works it out from the events). */
    public marks: Map<string, SessionMark[]> = new Map(),
  ) {}

  async call<N extends ApiMethodName>(method: N, input: ApiInput<N>): Promise<ApiResult<ApiOutput<N>>> {
    this.calls.push({ method, input });
    const ok = (value: unknown) => ({ ok: true, value }) as ApiResult<ApiOutput<N>>;
    const id = (input as { id?: string }).id ?? '';
    switch (method) {
      case 'sessions.list': {
        const had = (input as ApiInput<'sessions.list'>).had ?? [];
        return ok(this.sessions.filter((session) => had.every((mark) => this.marks.get(session.id)?.includes(mark))));
      }
      case 'sessions.get': {
        const session = this.sessions.find((candidate) => candidate.id === id);
        return session ? ok(session) : { ok: false, error: { code: 'not_found', message: `there is no session ${id} in the audit store` } };
      }
      case 'sessions.events':
        // A copy, as over the wire: the test may add to its list later.
        return ok([...(this.events.get(id) ?? [])]);
      case 'policy.view':
        return ok({ resources: [{ name: 'testdb', type: 'postgres', upstream: 'postgres://db/app', credential: 'password (held by Sluice)' }], rules: [], defaultEffect: 'deny', roles: {}, approvals: { timeoutMs: 600_000, quorum: 1, selfApproval: false }, limits: {}, masking: [] });
      default:
        return { ok: false, error: { code: 'forbidden', message: `${method} is not faked` } };
    }
  }

  subscribe(listener: (message: ApiEventMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(message: ApiEventMessage): void {
    for (const listener of this.#listeners) listener(message);
  }

  get subscribers(): number {
    return this.#listeners.size;
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    listener('live');
    return () => undefined;
  }

  close(): void {}
}

let counter = 0;

export function sessionRecord(overrides: Partial<SessionRecord> = {}): SessionRecord {
  counter++;
  return {
    id: `01JSESSION${String(counter).padStart(16, '0')}`,
    resource: 'testdb',
    protocol: 'postgres',
    identity: { subject: 'ci-job', issuer: 'sluice', method: 'token', groups: ['ci'] },
    clientAddress: '127.0.0.1:50000',
    application: 'psql',
    startedAt: Date.now() - 60_000,
    endedAt: Date.now() - 30_000,
    status: 'closed',
    counters: { statements: 3, errors: 0, rows: 12 },
    ...overrides,
  };
}

export function eventRecord(sessionId: string, seq: number, kind: EventRecord['kind'], payload: Record<string, unknown>): EventRecord {
  return { sessionId, seq, time: Date.now() * 1000, kind, payload, prevHash: '0'.repeat(64), hash: String(seq).padStart(64, '0') };
}
