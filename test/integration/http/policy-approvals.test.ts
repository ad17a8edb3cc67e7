import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../../proxy/approvals/approval-types.js';
import { STATIC_TOKEN_ISSUER, type Identity } from '../../../proxy/identity/identity.js';
import { eventually } from '../../helpers/eventually.js';
import { bearer, startHttpTestGateway, startUpstream, type HttpTestGateway, type TestUpstream } from './http-fixture.js';

// Policy on method, path and body fields, and approvals holding a request exactly like a SQL
// statement: the broker decides, the exact held bytes go upstream once, a denial reaches the
// caller with the approver's reason.

let upstream: TestUpstream;
let gateway: HttpTestGateway;

const alice: Identity = { subject: 'alice', issuer: STATIC_TOKEN_ISSUER, groups: ['approvers'], claims: {}, method: 'token' };

beforeAll(async () => {
  upstream = await startUpstream((req, res, body) => {
    res.statusCode = req.method === 'POST' ? 201 : 200;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, url: req.url, received: body.length }));
  });
  gateway = await startHttpTestGateway({
    api: true,
    approvals: '{ timeout: 1m }',
    resources: [`{ name: billing, type: http, upstream: "${upstream.url}", buffer_limit: 64KB }`],
    policy: [
      '{ name: ci-read, match: { groups: [ci], resources: [billing], methods: [GET], paths: ["/invoices/**", "/users/*"] }, effect: allow }',
      '{ name: ci-refunds, match: { groups: [ci], resources: [billing], methods: [POST], paths: [/refunds] }, effect: approve, session_grant: 5m }',
      '{ name: ci-profile, match: { groups: [ci], resources: [billing], methods: [PATCH], paths: ["/users/*"], fields: [$.name, $.contact] }, effect: allow }',
      '{ name: no-admin, match: { resources: [billing], paths: ["/admin/**"] }, effect: deny, reason: "the admin API is not for pipelines" }',
      '{ name: no-role-change, match: { resources: [billing], fields: [$.role, "$..is_admin"] }, effect: deny }',
      '{ name: no-deletes, match: { groups: [ci], methods: [DELETE] }, effect: deny }',
    ],
    masking: ['{ name: emails, detect: email, strategy: partial }'],
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.base}/r/billing${path}`, {
    method,
    headers: { ...bearer(gateway.token), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
}

async function error(response: Response): Promise<{ code: string; message: string; detail?: string; approval?: string }> {
  return ((await response.json()) as { error: { code: string; message: string; detail?: string; approval?: string } }).error;
}

async function pending(): Promise<Approval> {
  return eventually(async () => {
    const [approval] = gateway.engine.approvals.list({ status: 'pending' });
    if (!approval) throw new Error('no pending approval yet');
    return approval;
  });
}

describe('policy on method and path', () => {
  it('allows what a rule covers and denies the rest by default, saying what', async () => {
    expect((await call('GET', '/invoices/2024/7')).status).toBe(200);
    const other = await call('GET', '/payouts');
    expect(other.status).toBe(403);
    expect(await error(other)).toMatchObject({ code: 'denied', message: 'denied: no policy rule allows GET /payouts on billing' });
    const put = await call('PUT', '/invoices/1', {});
    expect((await error(put)).message).toBe('denied: no policy rule allows PUT /invoices/1 on billing');
  });

  it('denies a path on every reading an upstream may take of it', async () => {
    const before = upstream.seen.length;
    for (const path of ['/admin/users', '/admin', '/ADMIN/users', '/Admin%2Fusers', '/admin;jsessionid=1/users', '/%61dmin/users']) {
      const response = await call('GET', path);
      expect(response.status, path).toBe(403);
      expect((await error(response)).message, path).toBe('denied by rule no-admin: the admin API is not for pipelines');
    }
    expect(upstream.seen.length).toBe(before);
  });

  it('lets the most restrictive rule win and lists the trace', async () => {
    const response = await call('DELETE', '/invoices/1');
    expect(response.status).toBe(403);
    expect(await error(response)).toEqual({ code: 'denied', message: 'denied by rule no-deletes: DELETE /invoices/1' });
  });
});

describe('policy on JSON body fields', () => {
  it('allows a body whose every field a rule lists, and reads only what it must', async () => {
    const ok = await call('PATCH', '/users/7', { name: 'Ada', contact: { email: 'ada@example.com', phone: '1' } });
    expect(ok.status).toBe(200);
    expect(upstream.seen.at(-1)!.body.toString()).toBe(JSON.stringify({ name: 'Ada', contact: { email: 'ada@example.com', phone: '1' } }));
  });

  it('denies a body setting a denied field, however its name is written', async () => {
    for (const body of ['{"name":"x","role":"admin"}', '{"r\\u006fle":"admin"}', '{"ROLE":"admin"}', '{"name":"x","contact":{"is_admin":true}}']) {
      const response = await call('PATCH', '/users/7', body);
      expect(response.status, body).toBe(403);
      expect((await error(response)).message, body).toMatch(/^denied by rule no-role-change: PATCH \/users\/7 setting \$\./);
    }
  });

  it('fails closed on a field no rule lists, and on a body it cannot read', async () => {
    const extra = await call('PATCH', '/users/7', { name: 'x', nickname: 'y' });
    expect(extra.status).toBe(403);
    expect((await error(extra)).detail ?? (await Promise.resolve(''))).toBe('');
    const form = await call('PATCH', '/users/7', 'role=admin', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(403);
    expect((await error(form)).message).toContain('not JSON');
    const garbage = await call('PATCH', '/users/7', '{"name": ');
    expect(garbage.status).toBe(403);
  });

  it('refuses a body larger than buffer_limit when a rule needs its fields (413)', async () => {
    const response = await call('PATCH', '/users/7', { name: 'x'.repeat(70_000) });
    expect(response.status).toBe(413);
    expect((await error(response)).message).toContain('buffer_limit of billing');
  });
});

describe('approvals', () => {
  it('holds a request until an approver approves it, then forwards exactly the held bytes once', async () => {
    const body = JSON.stringify({ invoice: 'INV-1', amount: 120, note: 'refund for ada@example.com' });
    const before = upstream.seen.length;
    const answer = call('POST', '/refunds?reason=dup', body);
    const approval = await pending();
    expect(approval).toMatchObject({ protocol: 'http', resource: 'billing', rule: 'ci-refunds', requester: { subject: 'ci-job' } });
    // Approvers see the request line and the body with the caller's detectors applied.
    expect(approval.statement).toBe('POST /refunds?reason=dup\n\n{"invoice":"INV-1","amount":120,"note":"refund for ****@example.com"}');
    const expectedHash = hashOf('POST', '/refunds', 'reason=dup', Buffer.from(body));
    expect(approval.statementHash).toBe(expectedHash);
    expect(upstream.seen.length).toBe(before);

    // Through the engine API, as the web console and `sluice approve` do.
    const api = gateway.engine.api!.url;
    const decided = await fetch(`${api}/api/v1/approvals.decide`, { method: 'POST', headers: { ...bearer(gateway.alice), 'content-type': 'application/json' }, body: JSON.stringify({ id: approval.id, decision: 'approve', reason: 'ticket 42' }) });
    expect(decided.status).toBe(200);
    const response = await answer;
    expect(response.status).toBe(201);
    expect(response.headers.get('sluice-session')).toBeTruthy();
    expect(upstream.seen.length).toBe(before + 1);
    expect(upstream.seen.at(-1)!.body.toString()).toBe(body);
    expect(upstream.seen.at(-1)!.url).toBe('/refunds?reason=dup');
    expect(gateway.engine.approvals.get(approval.id)!.executedAt).toBeDefined();
  });

  it('answers 403 with the approver’s reason when denied', async () => {
    const before = upstream.seen.length;
    const answer = call('POST', '/refunds', { amount: 9_999 });
    const approval = await pending();
    gateway.engine.approvals.decide(approval.id, alice, { decision: 'deny', reason: 'not during the freeze' });
    const response = await answer;
    expect(response.status).toBe(403);
    expect(response.headers.get('sluice-approval')).toBe(approval.id);
    expect(await error(response)).toMatchObject({ code: 'approval_denied', message: `approval ${approval.id} denied by alice: not during the freeze`, approval: approval.id });
    expect(upstream.seen.length).toBe(before);
  });

  it('cancels the approval when the client goes away while it waits', async () => {
    const controller = new AbortController();
    const answer = fetch(`${gateway.base}/r/billing/refunds`, { method: 'POST', headers: { ...bearer(gateway.token), 'content-type': 'application/json' }, body: '{"amount":1}', signal: controller.signal }).catch(() => 'aborted');
    const approval = await pending();
    controller.abort();
    expect(await answer).toBe('aborted');
    await eventually(async () => expect(gateway.engine.approvals.get(approval.id)!.status).toBe('cancelled'));
  });

  it('refuses to hold a body larger than buffer_limit (413) and never asks approvers', async () => {
    const response = await call('POST', '/refunds', { blob: 'x'.repeat(70_000) });
    expect(response.status).toBe(413);
    expect(gateway.engine.approvals.list({ status: 'pending' })).toEqual([]);
  });

  it('asks for the body (100-continue) only once policy lets the request through', async () => {
    const denied = await continueRequest('DELETE', '/r/billing/invoices/1');
    expect(denied).toEqual({ status: 403, continued: false });
    const allowed = await continueRequest('PATCH', '/r/billing/users/1');
    expect(allowed).toEqual({ status: 200, continued: true });
  });

  it('records each request with its decision, approval steps and answer', async () => {
    await gateway.engine.store.flush();
    const [session] = await gateway.engine.store.listSessions({ protocol: 'http', limit: 1 });
    const all = await gateway.engine.store.listSessions({ protocol: 'http' });
    const events = (await Promise.all(all.map((s) => gateway.engine.store.listEvents(s.id)))).flat();
    expect(session).toBeDefined();
    const kinds = new Set(events.map((event) => event.kind));
    for (const kind of ['connect', 'http_request', 'decision', 'approval', 'http_response']) expect(kinds.has(kind as never), kind).toBe(true);
    const request = events.find((event) => event.kind === 'http_request' && (event.payload as { path: string }).path === '/refunds' && (event.payload as { query?: string }).query === 'reason=dup')!;
    const sent = JSON.stringify({ invoice: 'INV-1', amount: 120, note: 'refund for ada@example.com' });
    expect(request.payload).toMatchObject({
      method: 'POST',
      text: 'POST /refunds?reason=dup',
      decision: { effect: 'approve', rule: 'ci-refunds' },
      body: { bytes: sent.length, sample: sent.replace('ada@example.com', '****@example.com') },
    });
    expect(JSON.stringify(request.payload)).not.toContain('ada@example.com');
    expect(JSON.stringify(request.payload)).not.toContain(gateway.token);
    // An allowed request in batched durability is one event holding its response.
    const allowed = events.find((event) => event.kind === 'http_request' && (event.payload as { path: string }).path === '/invoices/2024/7')!;
    expect(allowed.payload).toMatchObject({ method: 'GET', decision: { effect: 'allow', rule: 'ci-read' }, response: { status: 200, source: 'upstream', outcome: 'ok', body: { bytes: expect.any(Number) } } });
    const denial = events.find((event) => event.kind === 'decision' && (event.payload as { rule: string }).rule === 'no-admin')!;
    expect(denial.payload).toMatchObject({ protocol: 'http', effect: 'deny', text: 'GET /admin/users' });
  });
});

function hashOf(method: string, path: string, query: string | undefined, body: Buffer): string {
  const hash = createHash('sha256');
  for (const part of [Buffer.from(method), Buffer.from(path), query === undefined ? undefined : Buffer.from(query), body]) {
    const header = Buffer.alloc(4);
    header.writeInt32BE(part ? part.length : -1);
    hash.update(header);
    if (part) hash.update(part);
  }
  return hash.digest('hex');
}

/** A request with `Expect: 100-continue`: whether the gateway asked for the body, and the final status. */
function continueRequest(method: string, path: string): Promise<{ status: number; continued: boolean }> {
  return new Promise((resolve, reject) => {
    let continued = false;
    const req = request(`${gateway.base}${path}`, { method, headers: { ...bearer(gateway.token), 'content-type': 'application/json', expect: '100-continue', 'content-length': '14' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
    });
    req.on('continue', () => {
      continued = true;
      req.end('{"name":"Ada"}');
    });
    req.on('error', reject);
  });
}
