import { configSchema } from '../../../proxy/config/schema.js';
import { policyView } from '../../../proxy/engine/policy-view.js';
import { previewMasking } from '../../../proxy/masking/masking-preview.js';
import { describe, expect, it } from 'vitest';
import { API_EVENTS, API_METHODS, type ApiServices } from '../../../proxy/api/api-contract.js';
import { approvalErrorCode, invokeApi, type ApiDispatchOptions } from '../../../proxy/api/api-dispatch.js';
import { rolesOf } from '../../../proxy/api/api-roles.js';
import { createApprovalBroker } from '../../../proxy/approvals/approval-broker.js';
import type { ApprovalBroker, ApprovalErrorCode, ApprovalRequest } from '../../../proxy/approvals/approval-types.js';
import type { EventRecord, SessionRecord, SessionRecording } from '../../../proxy/audit/audit-types.js';
import { createLogger } from '../../../proxy/engine/logger.js';
import type { Identity } from '../../../proxy/identity/identity.js';

const ROLES = { approvers: ['approvers'], auditors: ['auditors', 'approvers'], admins: ['admins'] };

const person = (subject: string, groups: string[]): Identity => ({ subject, issuer: 'sluice:token', groups, claims: {}, method: 'token' });
const approver = person('alice', ['approvers']);
const secondApprover = person('bob', ['approvers']);
const auditor = person('carol', ['auditors']);
const outsider = person('ci-job', ['ci']);

const SESSION: SessionRecord = {
  id: 'S1',
  resource: 'prod-db',
  protocol: 'postgres',
  identity: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'] },
  clientAddress: '127.0.0.1',
  application: 'psql',
  startedAt: 1_700_000_000_000,
  endedAt: null,
  status: 'open',
  counters: { statements: 1, errors: 0, rows: 0 },
};
const EVENT: EventRecord = { sessionId: 'S1', seq: 1, time: 1_700_000_000_000_000, kind: 'connect', payload: {}, prevHash: '0'.repeat(64), hash: 'a'.repeat(64) };

/** A recording that keeps what the broker writes. */
function recording(): SessionRecording & { events: unknown[] } {
  const events: unknown[] = [];
  return { id: 'S1', events, event: async (kind, payload) => void events.push({ kind, ...payload }), end: async () => undefined };
}

function request(overrides: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    sessionId: 'S1',
    resource: 'prod-db',
    protocol: 'postgres',
    requester: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'], claims: {} },
    statement: 'DELETE FROM users',
    statementHash: 'a'.repeat(64),
    fingerprint: 'f'.repeat(16),
    rule: 'writes-need-approval',
    reasons: ['kind delete'],
    history: [],
    ...overrides,
  };
}

const PREVIEW_KEY = Buffer.alloc(32, 7);

function setup(overrides: { broker?: ApprovalBroker; explain?: ApiServices['explain'] } = {}) {
  const logs: string[] = [];
  const broker = overrides.broker ?? createApprovalBroker({ timeoutMs: 60_000, quorum: 1, selfApproval: false });
  const services: ApiServices = {
    approvals: broker,
    audit: {
      listSessions: async () => [SESSION],
      getSession: async (id) => (id === SESSION.id ? SESSION : undefined),
      listEvents: async (id) => (id === SESSION.id ? [EVENT] : []),
    },
    explain: overrides.explain ?? (async (input) => ({ effect: 'allow', asked: input })),
    previewMasking: async (input) => previewMasking({ rules: input.rules, groups: input.groups ?? [], columns: input.sample?.columns ?? [], rows: input.sample?.rows ?? [] }, PREVIEW_KEY),
    policyView: () => policyView(configSchema.parse({ data_dir: '/tmp/unused' })),
  };
  const options: ApiDispatchOptions = { roles: ROLES, services, log: createLogger((line) => logs.push(line)) };
  return { broker, options, logs, call: (name: string, input: unknown, identity: Identity) => invokeApi(name, input, identity, options) };
}

describe('the engine API contract', () => {
  it('gives every method a role and an input schema, and every engine event a receiving role', () => {
    for (const [name, spec] of Object.entries(API_METHODS)) {
      expect({ name, role: spec.role }).toMatchObject({ name, role: expect.stringMatching(/^(approvers|auditors|admins|any)$/) });
      expect(typeof spec.input.safeParse).toBe('function');
    }
    expect(API_EVENTS).toEqual({
      'approval.requested': 'approvers',
      'approval.decided': 'approvers',
      'session.started': 'auditors',
      'session.ended': 'auditors',
      'event.appended': 'auditors',
    });
  });

  it('derives roles from the groups named in config', () => {
    expect([...rolesOf(approver, ROLES)]).toEqual(['approvers', 'auditors']);
    expect([...rolesOf(auditor, ROLES)]).toEqual(['auditors']);
    expect([...rolesOf(outsider, ROLES)]).toEqual([]);
  });
});

describe('role checks', () => {
  it('lets approvers read and decide approvals, and refuses everyone else with forbidden', async () => {
    const { call, broker } = setup();
    broker.request(request(), recording());
    expect(await call('approvals.list', {}, approver)).toMatchObject({ ok: true, value: [{ status: 'pending' }] });
    for (const identity of [auditor, outsider]) {
      const result = await call('approvals.list', {}, identity);
      expect(result).toEqual({ ok: false, error: { code: 'forbidden', message: expect.stringContaining('you are not in the approvers role, which approvals.list needs') } });
    }
  });

  it('lets auditors (and approvers, by default config) read sessions and explain policy, not outsiders', async () => {
    const { call } = setup();
    expect(await call('sessions.list', {}, auditor)).toEqual({ ok: true, value: [SESSION] });
    expect(await call('sessions.events', { id: 'S1' }, approver)).toEqual({ ok: true, value: [EVENT] });
    expect(await call('sessions.get', { id: 'S1' }, outsider)).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringContaining('auditors role') } });
    expect(await call('policy.explain', { identity: { subject: 'x', groups: [] }, resource: 'prod-db', sql: 'SELECT 1' }, auditor)).toEqual({
      ok: true,
      value: { effect: 'allow', asked: { identity: { subject: 'x', groups: [], claims: {} }, resource: 'prod-db', sql: 'SELECT 1' } },
    });
  });

  it('tells any authenticated caller who they are and which roles they hold', async () => {
    const { call } = setup();
    expect(await call('identity.whoami', {}, outsider)).toEqual({ ok: true, value: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'], roles: [] } });
    expect(await call('identity.whoami', {}, approver)).toMatchObject({ ok: true, value: { roles: ['approvers', 'auditors'] } });
  });

  it('answers an unknown method with not_found, whoever asks', async () => {
    const { call } = setup();
    expect(await call('approvals.delete', {}, approver)).toEqual({ ok: false, error: { code: 'not_found', message: 'the engine API has no method "approvals.delete"' } });
    expect(await call('toString', {}, approver)).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});

describe('input validation', () => {
  const cases: [string, unknown, string][] = [
    ['approvals.decide', { id: 'A', decision: 'maybe' }, 'decision: must be one of approve, deny'],
    ['approvals.decide', { decision: 'approve' }, 'id: expected an approval id (a string)'],
    ['approvals.decide', { id: 'A', decision: 'approve', scope: 'forever' }, 'scope: must be one of once, session'],
    ['approvals.list', { limit: 0 }, 'limit: must be at least 1'],
    ['approvals.list', { limit: 2.5 }, 'limit: must be a whole number'],
    ['approvals.list', { status: 'lost' }, 'status: must be one of pending, approved, denied, expired, cancelled'],
    ['approvals.list', { stauts: 'pending' }, 'stauts: unknown field'],
    ['approvals.list', [], 'input: expected a JSON object'],
    ['sessions.list', { status: 'done' }, 'status: must be one of open, closed, aborted'],
    ['policy.explain', { identity: { subject: 'x', groups: ['a', 7] }, resource: 'db', sql: 'SELECT 1' }, 'identity.groups[1]: expected a group (a string)'],
    ['policy.explain', { identity: { subject: 'x', groups: [] }, resource: 'db', sql: '' }, 'sql: must not be empty'],
  ];

  it.each(cases)('%s %j: invalid_input naming the field', async (name, input, message) => {
    const { call } = setup();
    expect(await call(name, input, approver)).toEqual({ ok: false, error: { code: 'invalid_input', message } });
  });

  it('checks the role before the input, so outsiders learn nothing about the schema', async () => {
    const { call } = setup();
    expect(await call('approvals.decide', { nonsense: true }, outsider)).toMatchObject({ ok: false, error: { code: 'forbidden' } });
  });
});

describe('error mapping', () => {
  it('maps every broker refusal to the code that says what the approver can do', () => {
    const table: Record<ApprovalErrorCode, string> = {
      not_found: 'not_found',
      not_pending: 'conflict',
      duplicate_vote: 'conflict',
      grant_not_allowed: 'conflict',
      self_approval: 'forbidden',
      reason_required: 'invalid_input',
      unavailable: 'unavailable',
    };
    for (const [code, expected] of Object.entries(table)) expect(approvalErrorCode(code as ApprovalErrorCode)).toBe(expected);
  });

  it("passes the broker's words through for each refusal of approvals.decide", async () => {
    const broker = createApprovalBroker({ timeoutMs: 60_000, quorum: 2, selfApproval: false });
    const { call } = setup({ broker });
    const { approval } = broker.request(request({ requester: { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['approvers'], claims: {} } }), recording());
    const decide = (identity: Identity, input: Record<string, unknown>) => call('approvals.decide', { id: approval.id, ...input }, identity);

    expect(await call('approvals.decide', { id: 'NOPE', decision: 'approve' }, approver)).toMatchObject({ ok: false, error: { code: 'not_found', message: expect.stringContaining('no approval NOPE') } });
    expect(await call('approvals.get', { id: 'NOPE' }, approver)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await decide(approver, { decision: 'approve' })).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringContaining('cannot decide it') } });
    expect(await decide(secondApprover, { decision: 'approve', scope: 'session' })).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringContaining('one-time approval only') } });
    expect(await decide(secondApprover, { decision: 'deny' })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('needs a reason') } });
    expect(await decide(secondApprover, { decision: 'approve' })).toMatchObject({ ok: true, value: { status: 'pending', votes: [{ approver: { subject: 'bob' } }] } });
    expect(await decide(secondApprover, { decision: 'approve' })).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringContaining('already approved') } });
    expect(await decide(secondApprover, { decision: 'deny', reason: 'not today' })).toMatchObject({ ok: true, value: { status: 'denied', reason: 'not today' } });
    expect(await decide(secondApprover, { decision: 'deny', reason: 'again' })).toMatchObject({ ok: false, error: { code: 'conflict', message: expect.stringContaining('already denied') } });
  });

  it('answers an unexpected failure with internal and a reference, keeping the detail in the log only', async () => {
    const { call, logs } = setup({
      explain: async () => {
        throw new Error('connection to postgres://app:hunter2@db failed');
      },
    });
    const result = await call('policy.explain', { identity: { subject: 'x', groups: [] }, resource: 'db', sql: 'SELECT 1' }, auditor);
    expect(result).toMatchObject({ ok: false, error: { code: 'internal' } });
    const message = result.ok ? '' : result.error.message;
    expect(message).not.toContain('hunter2');
    const ref = /ref ([0-9a-f]{12})/.exec(message)?.[1];
    expect(ref).toBeDefined();
    expect(logs.join('')).toMatch(new RegExp(`api method failed method=policy.explain ref=${ref}`));
  });

  it('logs the method, subject and outcome of every call', async () => {
    const { call, logs } = setup();
    await call('approvals.list', {}, approver);
    await call('approvals.list', {}, outsider);
    expect(logs[0]).toMatch(/INFO {2}api call method=approvals.list subject=alice outcome=ok\n$/);
    expect(logs[1]).toMatch(/INFO {2}api call method=approvals.list subject=ci-job outcome=forbidden\n$/);
  });
});

describe('masking.preview', () => {
  const admin = person('ada', ['admins']);
  const sample = {
    columns: [{ name: 'contact', sources: ['public.users.email'] }, { name: 'note' }, { name: 'id' }],
    rows: [
      ['ada@example.com', 'call bob@example.org or card 4111 1111 1111 1111', '1'],
      [null, 'nothing here', '2'],
    ],
  };

  it('masks sample rows with a draft rule set and says which rule fired per cell', async () => {
    const { call } = setup();
    const result = await call('masking.preview', { rules: [{ name: 'emails', columns: ['public.*.email'], strategy: 'partial' }, { name: 'pii', detect: ['email', 'card'], strategy: 'redact' }], sample }, admin);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const rows = (result.value as { rows: { value: string | null; rules: string[] }[][] }).rows;
    expect(rows[0]![0]).toEqual({ value: expect.stringMatching(/^\*+@example\.com$/), rules: ['emails'] });
    expect(rows[0]![1]).toEqual({ value: 'call [redacted:email] or card [redacted:card]', rules: ['pii'] });
    expect(rows[0]![2]).toEqual({ value: '1', rules: [] });
    expect(rows[1]![0]).toEqual({ value: null, rules: [] });
    expect(rows[1]![1]).toEqual({ value: 'nothing here', rules: [] });
  });

  it('previews group scoping: rules for other groups do not fire', async () => {
    const { call } = setup();
    const result = await call('masking.preview', { rules: [{ name: 'dba-only', columns: ['public.users.email'], strategy: 'redact', groups: ['dba'] }], sample }, admin);
    expect(result.ok && (result.value as { rows: { rules: string[] }[][] }).rows[0]![0]!.rules).toEqual([]);
    const asDba = await call('masking.preview', { rules: [{ name: 'dba-only', columns: ['public.users.email'], strategy: 'redact', groups: ['dba'] }], groups: ['dba'], sample }, admin);
    expect(asDba.ok && (asDba.value as { rows: { value: string }[][] }).rows[0]![0]!.value).toBe('[redacted]');
  });

  it('points at the rule and field of an invalid draft', async () => {
    const { call } = setup();
    const result = await call('masking.preview', { rules: [{ name: 'ok', detect: 'email', strategy: 'redact' }, { name: 'bad', pattern: '(unclosed', strategy: 'redact' }, { name: 'worse', detect: 'emails', strategy: 'scramble' }], sample }, admin);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('invalid_input');
    expect(result.error.message).toContain('rules[1].pattern: invalid masking pattern "(unclosed": missing )');
    expect(result.error.message).toContain('rules[2].detect');
    expect(result.error.message).toContain('rules[2].strategy');
  });

  it('is for admins only', async () => {
    const { call } = setup();
    const result = await call('masking.preview', { rules: [], sample }, person('carol', ['auditors']));
    expect(result.ok ? undefined : result.error.code).toBe('forbidden');
  });
});

describe('sessions.transcript', () => {
  it("gives auditors a session's transcript frames, and answers an unknown id with not_found", async () => {
    const { call } = setup();
    expect(await call('sessions.transcript', { id: 'S1' }, auditor)).toEqual({
      ok: true,
      value: { session: SESSION, frames: [{ time: EVENT.time, seq: 1, kind: 'prompt', text: '-- session S1 · resource prod-db · unknown subject\n' }] },
    });
    expect(await call('sessions.transcript', { id: 'NOPE' }, auditor)).toMatchObject({ ok: false, error: { code: 'not_found', message: 'there is no session NOPE in the audit store' } });
    expect(await call('sessions.transcript', { id: 'S1' }, outsider)).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringContaining('auditors role') } });
  });
});
