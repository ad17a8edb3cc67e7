import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditStore } from '../../../proxy/audit/audit-store.js';
import type { AuditStore, EventKind, SessionCounters, SessionQuery, SessionRecord, SessionStart } from '../../../proxy/audit/audit-types.js';
import { openPostgresAuditStore } from '../../../proxy/audit/postgres/postgres-store.js';
import { loadOrCreateSigningKey } from '../../../proxy/audit/signing-key.js';
import { publicKeyLine } from '../../../proxy/common/checkpoint-verify.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

// sessions.list's filters (the web console's Sessions screen) on both audit stores: sessions
// recorded through the store's own writing API, with payloads shaped as the gateway writes them
// (proxy/postgres/statement-log.ts, statement-gate.ts, result-limiter.ts, client-session.ts,
// proxy/approvals/approval-rules.ts). More sessions than one chunk of the event filters
// (proxy/audit/*/session-filters.ts) are recorded after the interesting ones, so those are
// found only past the first chunks.

type Payload = Readonly<Record<string, unknown>>;
type Event = readonly [EventKind, Payload];

interface FixtureSession {
  readonly name: string;
  readonly start?: Partial<SessionStart>;
  readonly events: readonly Event[];
  /** Left open when absent. */
  readonly end?: { readonly status: 'closed' | 'aborted'; readonly counters: SessionCounters };
}

const identity = (subject: string) => ({ subject, issuer: 'sluice:token', method: 'token', groups: ['analysts'] });

const select = (text: string, extra: Payload = {}): Payload => ({
  protocol: 'simple',
  text,
  duration_ms: 0.412,
  rows: 1,
  outcome: 'ok',
  tags: ['SELECT 1'],
  decision: { effect: 'allow', rule: 'analysts-read' },
  ...extra,
});

const decision = (effect: 'deny' | 'approve', rule: string, text: string, extra: Payload = {}): Payload => ({
  effect,
  rule,
  reason: effect === 'deny' ? 'DDL is not allowed on production' : 'writes to production need an approval',
  trace: [
    { rule: 'analysts-read', effect: 'allow', why: 'not a read' },
    { rule, effect, why: 'matched' },
  ],
  text,
  statements: [{ kind: effect === 'deny' ? 'drop' : 'update', operations: ['WRITE'], reads: [], writes: ['public.orders'], flags: [] }],
  ...extra,
});

const refused = (text: string, rule: string, code: string, message: string): Payload => ({
  protocol: 'simple',
  text,
  duration_ms: 0.051,
  rows: 0,
  outcome: 'error',
  tags: [],
  error: { code, message },
  decision: { effect: 'deny', rule },
});

const requested = (id: string, rule: string): Payload => ({
  action: 'requested',
  id,
  statement_hash: 'ab'.repeat(32),
  rule,
  reasons: [`${rule}: writes to production need an approval`],
  expires_at: 1_900_000_000_000,
  quorum: 1,
});

const counters = (statements: number, errors = 0, rows = statements): SessionCounters => ({ statements, errors, rows });

/** Oldest first. */
const SESSIONS: readonly FixtureSession[] = [
  {
    // Nothing happened, but its result sample holds the words the event filters look for.
    name: 'quiet',
    start: { identity: identity('alice@example.com') },
    events: [
      ['query', select('SELECT id FROM public.orders WHERE id = 1', { sample: { columns: ['deny', 'error'], rows: [['deny', 'error'], ['approval', 'masked'], ['limit', 'sample-only-marker']], truncated: false } })],
      ['notice', { severity: 'NOTICE', message: 'masked error deny approval limit' }],
    ],
    end: { status: 'closed', counters: counters(1) },
  },
  {
    name: 'denied',
    start: { identity: identity('bob@example.com') },
    events: [
      ['decision', decision('deny', 'no-ddl', 'DROP TABLE public.orders')],
      ['query', refused('DROP TABLE public.orders', 'no-ddl', '42501', 'Sluice denied this statement: DDL is not allowed on production')],
    ],
    end: { status: 'closed', counters: counters(1, 1, 0) },
  },
  {
    name: 'approvedWrite',
    start: { identity: identity('carol@example.com'), resource: 'staging-db' },
    events: [
      ['decision', decision('approve', 'writes-need-approval', 'DELETE FROM public.invoices WHERE id = 7', { approval: 'AP1' })],
      ['approval', requested('AP1', 'writes-need-approval')],
      ['approval', { action: 'approved', id: 'AP1', by: ['dave@example.com'], reason: 'dave@example.com: ticket 42' }],
      ['approval', { action: 'executed', id: 'AP1' }],
      ['query', select('DELETE FROM public.invoices WHERE id = 7', { tags: ['DELETE 1'], decision: { effect: 'approve', rule: 'writes-need-approval', approval: 'AP1' } })],
    ],
    end: { status: 'closed', counters: counters(1) },
  },
  {
    name: 'masked',
    start: { identity: identity('dave@example.com') },
    events: [
      [
        'query',
        select('SELECT name, email FROM public.customers LIMIT 2', {
          rows: 2,
          tags: ['SELECT 2'],
          masked: { 'email-partial': 2 },
          sample: { columns: ['name', 'email'], rows: [['Ann', 'a***@example.com'], ['Bob', 'b***@example.com']], truncated: false },
        }),
      ],
    ],
    end: { status: 'closed', counters: counters(1, 0, 2) },
  },
  {
    // Still open: its counters say nothing yet, its events do.
    name: 'failedOpen',
    start: { identity: identity('erin@example.com') },
    events: [['query', select('SELECT * FROM public.nope', { rows: 0, tags: [], outcome: 'error', error: { code: '42P01', message: 'relation "public.nope" does not exist' } })]],
  },
  {
    name: 'limitStopped',
    start: { identity: identity('frank@example.com'), resource: 'analytics' },
    events: [
      ['limit', { limit: 'rows_per_statement', value: 1000, rule: '(top level)', action: 'stopped', rows: 1000, text: 'SELECT * FROM public.events' }],
      ['query', select('SELECT * FROM public.events', { rows: 1000, tags: [], outcome: 'error', error: { code: '54000', message: 'Sluice stopped this result at 1000 rows' } })],
    ],
    end: { status: 'closed', counters: counters(1, 1, 1000) },
  },
  {
    // A limit held the result for an approval, which was granted: no denial.
    name: 'limitApproved',
    start: { identity: identity('grace@example.com'), resource: 'analytics' },
    events: [
      ['limit', { limit: 'rows_per_statement', value: 1000, rule: '(top level)', action: 'held', rows: 1000, text: 'SELECT * FROM public.clicks', approval: 'AP2' }],
      ['approval', requested('AP2', '(top level)')],
      ['approval', { action: 'approved', id: 'AP2', by: ['heidi@example.com'] }],
      ['limit', { limit: 'rows_per_statement', value: 1000, rule: '(top level)', action: 'approved', rows: 1000, text: 'SELECT * FROM public.clicks', approval: 'AP2' }],
      ['query', select('SELECT * FROM public.clicks', { rows: 5000, tags: ['SELECT 5000'] })],
    ],
    end: { status: 'closed', counters: counters(1, 0, 5000) },
  },
  {
    name: 'approvalDenied',
    start: { identity: identity('heidi@example.com') },
    events: [
      ['decision', decision('approve', 'writes-need-approval', 'UPDATE public.accounts SET balance = 0', { approval: 'AP3' })],
      ['approval', requested('AP3', 'writes-need-approval')],
      ['approval', { action: 'denied', id: 'AP3', by: ['ivan@example.com'], reason: 'not during business hours' }],
      ['query', refused('UPDATE public.accounts SET balance = 0', 'writes-need-approval', '42501', 'approval AP3 was denied by ivan@example.com')],
    ],
    end: { status: 'closed', counters: counters(1, 1, 0) },
  },
  {
    // The upstream refused the login: recorded as an error, the session aborted.
    name: 'upstreamRefused',
    start: { identity: identity('judy@example.com') },
    events: [['error', { source: 'upstream', code: '28P01', message: 'password authentication failed for user "app"' }]],
    end: { status: 'aborted', counters: counters(0, 1, 0) },
  },
  {
    // Its counters know an error its events do not show.
    name: 'counted',
    start: { identity: identity('karl@example.com') },
    events: [['query', select('SELECT 1')]],
    end: { status: 'closed', counters: counters(1, 1) },
  },
  {
    name: 'wildcard',
    start: { identity: identity('ci_bot%1@example.com') },
    events: [['query', select("SELECT * FROM promo WHERE code LIKE '50%_off'")]],
    end: { status: 'closed', counters: counters(1) },
  },
  {
    // What `_` and `%` would match were they wildcards.
    name: 'lookalike',
    start: { identity: identity('ciXbotY1@example.com') },
    events: [['query', select("SELECT * FROM promo WHERE code LIKE '50XYoff'")]],
    end: { status: 'closed', counters: counters(1) },
  },
  {
    // Quotes, a newline and a backslash: escaped in the stored JSON.
    name: 'escapes',
    start: { identity: identity('Mallory@Example.com') },
    events: [['query', select('SELECT "Name"\nFROM public.t WHERE path = \'C:\\temp\'')]],
    end: { status: 'closed', counters: counters(1) },
  },
  {
    // Held for an approval, never run: its text is only in the decision.
    name: 'pendingApproval',
    start: { identity: identity('niaj@example.com') },
    events: [
      ['decision', decision('approve', 'writes-need-approval', 'TRUNCATE public.audit_trail', { approval: 'AP4' })],
      ['approval', requested('AP4', 'writes-need-approval')],
    ],
  },
  {
    name: 'http',
    start: { identity: identity('alice@example.com'), protocol: 'http', resource: 'billing-api' },
    events: [
      // As written with strict audit (the request, then its response), then as written without
      // (one event after the answer, the response inside).
      ['http_request', { method: 'GET', path: '/v1/invoices', text: 'GET /v1/invoices?status=open' }],
      ['http_response', { status: 200, masked: {} }],
      ['http_request', { method: 'POST', path: '/v1/refunds', text: 'POST /v1/refunds', response: { status: 201, masked: { 'customer-email': 2 } } }],
    ],
    end: { status: 'closed', counters: counters(1) },
  },
];

/** Recorded at once, their events in the same commits. */
const NEIGHBOURS: readonly FixtureSession[] = [
  {
    name: 'neighbourA',
    start: { identity: identity('olivia@example.com') },
    events: [
      ['query', select("SELECT 'needle-in-a' AS here")],
      ['query', select('SELECT 2')],
    ],
    end: { status: 'closed', counters: counters(2) },
  },
  {
    // The needle is in its result, not its statements.
    name: 'neighbourB',
    start: { identity: identity('peggy@example.com') },
    events: [
      ['query', select('SELECT note FROM public.notes', { sample: { columns: ['note'], rows: [['needle-in-a']], truncated: false } })],
      ['query', select('SELECT 3')],
    ],
    end: { status: 'closed', counters: counters(2) },
  },
];

/** Sessions recorded after the others: more than the event filters' first chunks. */
const FILLERS = 130;

const ORDER = [...SESSIONS, ...NEIGHBOURS].map((session) => session.name);

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function start(session: FixtureSession): SessionStart {
  return { resource: 'prod-db', protocol: 'postgres', identity: identity('someone@example.com'), clientAddress: '10.0.0.7:51234', application: 'psql', ...session.start };
}

async function play(store: AuditStore, session: FixtureSession): Promise<string> {
  const recording = store.beginSession(start(session));
  for (const [kind, payload] of session.events) void recording.event(kind, payload);
  if (session.end) void recording.end(session.end.status, session.end.counters);
  return recording.id;
}

/** Records every fixture session; returns their ids by name. */
async function recordAll(store: AuditStore): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const session of SESSIONS) {
    ids.set(session.name, await play(store, session));
    // Distinct start times, so since/until can fall between any two.
    await pause(3);
  }
  for (const session of NEIGHBOURS) ids.set(session.name, await play(store, session));
  await pause(3);
  for (let n = 0; n < FILLERS; n++) {
    await play(store, { name: 'filler', start: { identity: identity(`filler-${n}@example.com`) }, events: [['query', select(`SELECT ${n} FROM public.orders`)]], end: { status: 'closed', counters: counters(1) } });
  }
  await store.flush();
  return ids;
}

interface Backend {
  readonly name: string;
  open(): Promise<AuditStore>;
  cleanUp(): Promise<void>;
}

const dirs: string[] = [];
let database: TestDatabase | undefined;

const BACKENDS: readonly Backend[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'sluice-session-filters-'));
      dirs.push(dir);
      return openAuditStore({ dataDir: join(dir, 'data'), durability: 'batched' });
    },
    cleanUp: async () => undefined,
  },
  {
    name: 'PostgreSQL',
    async open() {
      database = await createTestDatabase(import.meta.filename);
      const dir = await mkdtemp(join(tmpdir(), 'sluice-session-filters-key-'));
      dirs.push(dir);
      const key = await loadOrCreateSigningKey(dir);
      return openPostgresAuditStore({ connectionString: database.url, durability: 'batched', gateway: { id: key.kid, name: 'session-filters', publicKey: publicKeyLine(key.publicJwk) } });
    },
    cleanUp: async () => database?.drop(),
  },
];

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe.each(BACKENDS)('listSessions on the $name store', (backend) => {
  let store: AuditStore;
  let ids: Map<string, string>;
  let names: Map<string, string>;

  beforeAll(async () => {
    store = await backend.open();
    ids = await recordAll(store);
    names = new Map([...ids].map(([name, id]) => [id, name]));
  });

  afterAll(async () => {
    await store?.close();
    await backend.cleanUp();
  });

  /** The fixture sessions a query returns, newest first; fillers are 'filler'. */
  async function found(query: SessionQuery): Promise<string[]> {
    return (await store.listSessions(query)).map((session) => names.get(session.id) ?? 'filler');
  }

  /** `wanted` as listSessions orders them: newest first. */
  const newestFirst = (...wanted: string[]) => ORDER.filter((name) => wanted.includes(name)).reverse();

  const session = async (name: string): Promise<SessionRecord> => (await store.getSession(ids.get(name)!))!;

  it('lists the newest 50 without filters, and honours a limit', async () => {
    const all = await store.listSessions();
    expect(all).toHaveLength(50);
    expect(all.map((record) => record.startedAt)).toEqual(all.map((record) => record.startedAt).sort((a, b) => b - a));
    expect(await found({ limit: 3 })).toEqual(['filler', 'filler', 'filler']);
    expect(await found({ limit: 0, had: ['error'] })).toEqual([]);
    expect(await store.listSessions({ limit: 1000 })).toHaveLength(SESSIONS.length + NEIGHBOURS.length + FILLERS);
  });

  it('filters by protocol, status and resource on the session row', async () => {
    expect(await found({ protocol: 'http' })).toEqual(['http']);
    expect(await found({ status: 'aborted' })).toEqual(['upstreamRefused']);
    expect(await found({ status: 'open' })).toEqual(newestFirst('failedOpen', 'pendingApproval'));
    expect(await found({ resource: 'analytics' })).toEqual(newestFirst('limitStopped', 'limitApproved'));
    expect(await found({ protocol: 'exec' })).toEqual([]);
  });

  it('finds part of a subject whatever its case', async () => {
    expect(await found({ identity: 'ALICE@' })).toEqual(newestFirst('quiet', 'http'));
    expect(await found({ identity: 'mallory@example' })).toEqual(['escapes']);
    expect(await found({ identity: 'alice', protocol: 'postgres' })).toEqual(['quiet']);
  });

  it('matches % and _ in a subject literally', async () => {
    expect(await found({ identity: 'ci_bot%1' })).toEqual(['wildcard']);
    expect(await found({ identity: '%' })).toEqual(['wildcard']);
    expect(await found({ identity: '_bot' })).toEqual(['wildcard']);
    expect(await found({ identity: 'ci\\bot' })).toEqual([]);
  });

  it('filters by start time: since inclusive, until exclusive', async () => {
    const masked = await session('masked');
    const stopped = await session('limitStopped');
    expect(await found({ since: masked.startedAt, until: stopped.startedAt })).toEqual(newestFirst('masked', 'failedOpen'));
    expect(await found({ until: masked.startedAt })).toEqual(newestFirst('quiet', 'denied', 'approvedWrite'));
    expect(await found({ since: stopped.startedAt, until: stopped.startedAt })).toEqual([]);
    expect(await found({ since: Date.now() + 60_000 })).toEqual([]);
  });

  it('finds sessions with a denial: by policy, by an approver, by a limit', async () => {
    expect(await found({ had: ['denial'] })).toEqual(newestFirst('denied', 'limitStopped', 'approvalDenied'));
  });

  it('finds sessions where an approval was requested', async () => {
    expect(await found({ had: ['approval'] })).toEqual(newestFirst('approvedWrite', 'limitApproved', 'approvalDenied', 'pendingApproval'));
  });

  it('finds sessions whose results were masked', async () => {
    expect(await found({ had: ['masking'] })).toEqual(newestFirst('masked', 'http'));
  });

  it('finds sessions with an error: an error event or a failed statement, not a statement the gateway refused', async () => {
    // `denied` and `approvalDenied` were refused (denials, not errors); `counted` has an error in
    // its counters only, which also count refusals, so they are not read for this mark.
    expect(await found({ had: ['error'] })).toEqual(newestFirst('failedOpen', 'limitStopped', 'upstreamRefused'));
  });

  it('asks for every mark listed', async () => {
    expect(await found({ had: ['denial', 'approval'] })).toEqual(['approvalDenied']);
    expect(await found({ had: ['error', 'denial', 'error'] })).toEqual(['limitStopped']);
    expect(await found({ had: ['masking', 'error'] })).toEqual([]);
    expect(await found({ had: [] })).toHaveLength(50);
  });

  it('finds text in statements whatever its case, also in a decision whose statement never ran', async () => {
    expect(await found({ search: 'drop table PUBLIC.ORDERS' })).toEqual(['denied']);
    expect(await found({ search: 'truncate public.audit' })).toEqual(['pendingApproval']);
    expect(await found({ search: 'public.invoices' })).toEqual(['approvedWrite']);
    // An HTTP session's request lines.
    expect(await found({ search: 'post /V1/REFUNDS' })).toEqual(['http']);
    expect(await found({ search: 'invoices?status=open' })).toEqual(['http']);
  });

  it('finds text with quotes, newlines and backslashes as it was typed', async () => {
    expect(await found({ search: '"name"\nfrom' })).toEqual(['escapes']);
    expect(await found({ search: "path = 'c:\\temp'" })).toEqual(['escapes']);
    // The stored JSON holds `\n` for the newline; nobody typed a backslash and an n.
    expect(await found({ search: '\\n' })).toEqual([]);
    expect(await found({ search: '\\' })).toEqual(['escapes']);
  });

  it('matches % and _ in the search text literally', async () => {
    expect(await found({ search: '50%_off' })).toEqual(['wildcard']);
    expect(await found({ search: '%' })).toEqual(['wildcard']);
    expect(await found({ search: "'50_" })).toEqual([]);
  });

  it('never finds text from another session, nor from results, notices or errors', async () => {
    expect(await found({ search: 'needle-in-a' })).toEqual(['neighbourA']);
    expect(await found({ search: 'sample-only-marker' })).toEqual([]);
    expect(await found({ search: 'masked error deny' })).toEqual([]);
    expect(await found({ search: 'password authentication failed' })).toEqual([]);
    // The end of one session's statement and the start of the next one's.
    expect(await found({ search: 'AS here SELECT note' })).toEqual([]);
  });

  it('combines every filter', async () => {
    expect(await found({ resource: 'analytics', had: ['denial'] })).toEqual(['limitStopped']);
    expect(await found({ status: 'open', had: ['error'] })).toEqual(['failedOpen']);
    // Few sessions far apart (SQLite looks them up one by one).
    expect(await found({ identity: 'alice', search: 'public.orders' })).toEqual(['quiet']);
    expect(await found({ identity: 'alice', had: ['denial'] })).toEqual([]);
    expect(await found({ identity: 'HEIDI', had: ['approval', 'denial'], search: 'balance = 0' })).toEqual(['approvalDenied']);
    expect(await found({ identity: 'HEIDI', had: ['approval', 'denial', 'error'], search: 'balance = 0' })).toEqual([]);
    expect(await found({ identity: 'heidi', search: 'public.invoices' })).toEqual([]);
    expect(await found({ search: 'public.', had: ['approval'], status: 'closed' })).toEqual(newestFirst('approvedWrite', 'limitApproved', 'approvalDenied'));
    const masked = await session('masked');
    expect(await found({ since: masked.startedAt, had: ['approval'], protocol: 'postgres', limit: 2 })).toEqual(newestFirst('approvalDenied', 'pendingApproval'));
    expect(await found({ search: 'public.orders', limit: 60 })).toEqual([...Array<string>(60).fill('filler')]);
    expect(await found({ search: 'public.orders', limit: 1000 })).toEqual([...Array<string>(FILLERS).fill('filler'), 'denied', 'quiet']);
  });

  it('returns whole session records', async () => {
    const [record] = await store.listSessions({ had: ['masking'], protocol: 'postgres' });
    expect(record).toMatchObject({ id: ids.get('masked'), resource: 'prod-db', protocol: 'postgres', status: 'closed', identity: identity('dave@example.com'), counters: counters(1, 0, 2) });
  });
});
