import { X509Certificate } from 'node:crypto';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../../proxy/audit/audit-types.js';
import { eventually } from '../../helpers/eventually.js';
import { TestOidcIssuer } from '../../helpers/oidc-issuer.js';
import { buyTicket, callMethod, httpCall, openEventSocket, startApiFixture, type ApiFixture } from './api-fixture.js';

let api: ApiFixture;
let issuer: TestOidcIssuer;

beforeAll(async () => {
  issuer = await TestOidcIssuer.start();
  api = await startApiFixture({ oidcIssuer: issuer.url });
});

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  // The canary: no credential ever reaches the server's log.
  for (const token of Object.values(api?.tokens ?? {})) expect(api.logs.join('')).not.toContain(token);
});

type Refusal = Error & { status?: number; body?: string };

describe('authentication', () => {
  it('answers health without a credential', async () => {
    const answer = await httpCall(`${api.url}/api/v1/health`);
    expect({ status: answer.status, json: answer.json }).toEqual({ status: 200, json: { ok: true, value: { status: 'ok' } } });
  });

  it('refuses a missing, unknown or malformed credential with 401 and a Bearer challenge', async () => {
    const missing = await callMethod(api, 'approvals.list', {}, undefined);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="sluice"');
    expect(missing.json).toEqual({ ok: false, error: { code: 'unauthenticated', message: expect.stringContaining('Authorization: Bearer') } });

    const unknown = await callMethod(api, 'approvals.list', {}, 'slu_not-a-real-token');
    expect(unknown.status).toBe(401);
    expect(unknown.headers['www-authenticate']).toBe('Bearer realm="sluice", error="invalid_token"');
    expect(unknown.json).toMatchObject({ ok: false, error: { code: 'unauthenticated', message: expect.stringContaining('token not recognised') } });

    const basic = await httpCall(`${api.url}/api/v1/approvals.list`, { method: 'POST', headers: { authorization: 'Basic YWxpY2U6cHc=' }, body: '{}' });
    expect(basic.status).toBe(401);
  });

  it('takes an OIDC JWT, and refuses it once expired', async () => {
    const fresh = await callMethod(api, 'identity.whoami', {}, await issuer.issue());
    expect(fresh.json).toMatchObject({ ok: true, value: { subject: 'repo:acme/api:ref:refs/heads/main', groups: ['approvers'], roles: ['approvers', 'auditors'] } });

    const expired = await callMethod(api, 'approvals.list', {}, await issuer.issue({}, { expiresIn: -600 }));
    expect(expired.status).toBe(401);
    expect(expired.headers['www-authenticate']).toContain('error="invalid_token"');
    expect(expired.json).toMatchObject({ ok: false, error: { code: 'unauthenticated', message: expect.stringMatching(/expired/) } });
  });

  it('refuses a caller outside the role with 403', async () => {
    const auditor = await callMethod(api, 'approvals.list', {}, api.tokens.carol);
    expect(auditor.status).toBe(403);
    expect(auditor.json).toMatchObject({ ok: false, error: { code: 'forbidden', message: expect.stringContaining('you are not in the approvers role') } });
    const outsider = await callMethod(api, 'sessions.list', {}, api.tokens['ci-job']);
    expect(outsider.status).toBe(403);
  });
});

describe('HTTP framing', () => {
  it('answers bad requests with the status their problem stands for', async () => {
    const badJson = await httpCall(`${api.url}/api/v1/approvals.list`, { method: 'POST', headers: { authorization: `Bearer ${api.tokens.alice}` }, body: '{"status": ' });
    expect({ status: badJson.status, json: badJson.json }).toEqual({ status: 400, json: { ok: false, error: { code: 'invalid_input', message: 'the request body is not valid JSON' } } });

    const field = await callMethod(api, 'approvals.list', { limit: 'ten' }, api.tokens.alice);
    expect({ status: field.status, json: field.json }).toEqual({ status: 400, json: { ok: false, error: { code: 'invalid_input', message: 'limit: expected a number' } } });

    const unknown = await callMethod(api, 'approvals.frobnicate', {}, api.tokens.alice);
    expect(unknown.status).toBe(404);

    const nowhere = await httpCall(`${api.url}/index.html`);
    expect(nowhere.status).toBe(404);

    const get = await httpCall(`${api.url}/api/v1/approvals.list`, { headers: { authorization: `Bearer ${api.tokens.alice}` } });
    expect({ status: get.status, allow: get.headers.allow }).toEqual({ status: 405, allow: 'POST' });

    const empty = await httpCall(`${api.url}/api/v1/approvals.list`, { method: 'POST', headers: { authorization: `Bearer ${api.tokens.alice}` } });
    expect(empty.status).toBe(200);
  });

  it('refuses a body over 1 MiB with 413 without reading it all', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const declared = await httpCall(`${api.url}/api/v1/approvals.list`, { method: 'POST', headers: { authorization: `Bearer ${api.tokens.alice}` }, body: big });
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('larger than 1048576 bytes') } });

    // Chunked, so only counting the bytes as they arrive can stop it.
    const raw = connect({ host: '127.0.0.1', port: api.listener.port });
    let reply = '';
    raw.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
    const ended = new Promise((resolve) => raw.on('close', resolve));
    raw.on('error', () => undefined);
    raw.write(`POST /api/v1/approvals.list HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${api.tokens.alice}\r\ntransfer-encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    for (let i = 0; i < 20 && !raw.destroyed; i++) raw.write(`${chunk.length.toString(16)}\r\n${chunk.toString('latin1')}\r\n`);
    await ended;
    expect(reply).toMatch(/^HTTP\/1\.1 413 /);
  });
});

describe('approvals over HTTP', () => {
  it('lists a held statement and lets an approver approve it, releasing the gateway', async () => {
    const held = api.hold();
    const listed = await callMethod(api, 'approvals.list', { status: 'pending' }, api.tokens.alice);
    expect(listed.status).toBe(200);
    expect((listed.json as { value: { id: string }[] }).value.map((approval) => approval.id)).toContain(held.approval.id);

    const got = await callMethod(api, 'approvals.get', { id: held.approval.id }, api.tokens.bob);
    expect(got.json).toMatchObject({ ok: true, value: { id: held.approval.id, status: 'pending', requester: { subject: 'ci-job' } } });

    const decided = await callMethod(api, 'approvals.decide', { id: held.approval.id, decision: 'approve', reason: 'planned cleanup', scope: 'session' }, api.tokens.alice);
    expect(decided.status).toBe(200);
    expect(decided.json).toMatchObject({ ok: true, value: { status: 'approved', votes: [{ approver: { subject: 'alice', issuer: 'sluice:token' }, scope: 'session' }], grantedUntil: expect.any(Number) } });
    await expect(held.outcome).resolves.toMatchObject({ status: 'approved' });
  });

  it('answers the refusals of a decision with 404, 403, 400 and 409', async () => {
    const held = api.hold({ requester: { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['approvers'], claims: {} } });
    const decide = (token: string, input: Record<string, unknown>) => callMethod(api, 'approvals.decide', { id: held.approval.id, ...input }, token);

    expect((await callMethod(api, 'approvals.decide', { id: '01NOSUCHAPPROVAL', decision: 'approve' }, api.tokens.alice)).status).toBe(404);
    const self = await decide(api.tokens.alice, { decision: 'approve' });
    expect({ status: self.status, json: self.json }).toMatchObject({ status: 403, json: { error: { code: 'forbidden', message: expect.stringContaining('another approver must') } } });
    expect((await decide(api.tokens.bob, { decision: 'deny' })).status).toBe(400);
    const denied = await decide(api.tokens.bob, { decision: 'deny', reason: 'wrong table' });
    expect(denied.json).toMatchObject({ ok: true, value: { status: 'denied', reason: 'wrong table' } });
    const again = await decide(api.tokens.bob, { decision: 'approve' });
    expect({ status: again.status, json: again.json }).toMatchObject({ status: 409, json: { error: { code: 'conflict', message: expect.stringContaining('already denied by bob: wrong table') } } });
  });
});

describe('sessions over HTTP', () => {
  it('lets auditors read sessions and their events from the audit store', async () => {
    const recording = api.store.beginSession({
      resource: 'prod-db',
      protocol: 'postgres',
      identity: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'] },
      clientAddress: '127.0.0.1',
      application: 'psql',
    });
    await recording.event('query', { text: 'SELECT 1', outcome: 'ok', rows: 1 });
    const list = await callMethod(api, 'sessions.list', { limit: 5 }, api.tokens.carol);
    expect((list.json as { value: SessionRecord[] }).value.map((session) => session.id)).toContain(recording.id);
    const one = await callMethod(api, 'sessions.get', { id: recording.id }, api.tokens.carol);
    expect(one.json).toMatchObject({ ok: true, value: { id: recording.id, status: 'open', application: 'psql' } });
    const events = await callMethod(api, 'sessions.events', { id: recording.id }, api.tokens.carol);
    expect(events.json).toMatchObject({ ok: true, value: [{ seq: 1, kind: 'connect' }, { seq: 2, kind: 'query', payload: { text: 'SELECT 1' } }] });
    expect((await callMethod(api, 'sessions.events', { id: 'NOPE' }, api.tokens.carol)).status).toBe(404);
    await recording.end('closed', { statements: 1, errors: 0, rows: 1 });
  });

  it('explains policy through the injected service', async () => {
    const answer = await callMethod(api, 'policy.explain', { identity: { subject: 'ci-job', groups: ['ci'] }, resource: 'prod-db', sql: 'DROP TABLE t' }, api.tokens.carol);
    expect(answer.json).toEqual({ ok: true, value: { effect: 'deny', rule: 'default', input: { identity: { subject: 'ci-job', groups: ['ci'], claims: {} }, resource: 'prod-db', sql: 'DROP TABLE t' } } });
  });
});

describe('the events WebSocket', () => {
  it('refuses a socket without a ticket, with a made-up one, or with a used one', async () => {
    await expect(openEventSocket(api, undefined)).rejects.toMatchObject({ status: 401 } satisfies Partial<Refusal>);
    await expect(openEventSocket(api, 'made-up')).rejects.toMatchObject({ status: 401 });
    const ticket = await buyTicket(api, api.tokens.alice);
    const first = await openEventSocket(api, ticket);
    await expect(openEventSocket(api, ticket)).rejects.toMatchObject({ status: 401, body: expect.stringContaining('single use') });
    first.socket.close();
    await first.closed;
  });

  it('sells tickets only for a credential, and only to callers who can receive something', async () => {
    expect((await callMethod(api, 'events/ticket', {}, undefined)).status).toBe(401);
    const outsider = await callMethod(api, 'events/ticket', {}, api.tokens['ci-job']);
    expect(outsider.status).toBe(403);
    const auditor = await callMethod(api, 'events/ticket', {}, api.tokens.carol);
    expect(auditor.json).toMatchObject({ ok: true, value: { ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), path: '/api/v1/events', events: ['session.started', 'session.ended', 'event.appended'] } });
  });

  it('closes a subscription when the credential that bought its ticket expires', async () => {
    const socket = await openEventSocket(api, await buyTicket(api, await issuer.issue({}, { expiresIn: 2 })));
    expect(await socket.closed).toEqual({ code: 4401, reason: 'credential expired: get a new ticket with a fresh credential' });
  });

  it('tells approvers about approvals as they are requested and decided, and auditors only about sessions', async () => {
    const approver = await openEventSocket(api, await buyTicket(api, api.tokens.alice));
    const auditor = await openEventSocket(api, await buyTicket(api, api.tokens.carol));
    const held = api.hold();
    await callMethod(api, 'approvals.decide', { id: held.approval.id, decision: 'deny', reason: 'not now' }, api.tokens.bob);
    const session = (await api.store.listSessions({ limit: 1 }))[0]!;
    api.events.emit('session.started', session);

    await eventually(async () => expect(approver.messages.map((m) => m.event)).toEqual(['approval.requested', 'approval.decided', 'session.started']));
    expect(approver.messages[0]).toMatchObject({ event: 'approval.requested', payload: { id: held.approval.id, status: 'pending' } });
    expect(approver.messages[1]).toMatchObject({ event: 'approval.decided', payload: { id: held.approval.id, status: 'denied', reason: 'not now' } });
    // Sent after the approval events: had the auditor been sent those, they would be here first.
    await eventually(async () => expect(auditor.messages.map((m) => m.event)).toEqual(['session.started']));

    for (const socket of [approver, auditor]) socket.socket.close();
    await Promise.all([approver.closed, auditor.closed]);
    // With nobody subscribed, the hub stops listening, so the data path builds no payloads.
    await eventually(async () => expect(api.events.has('approval.requested') || api.events.has('session.started')).toBe(false));
  });
});

describe('slow subscribers', () => {
  it('disconnects a subscriber that stops reading instead of buffering without bound', async () => {
    const small = await startApiFixture({ maxBufferedBytes: 256 * 1024 });
    try {
      const reader = await openEventSocket(small, await buyTicket(small, small.tokens.carol));
      reader.socket.pause(); // stops reading: the kernel buffers fill, then the server's
      const payload = { sessionId: 'S', seq: 1, time: 0, kind: 'output' as const, payload: { text: 'x'.repeat(64 * 1024) }, prevHash: '0'.repeat(64), hash: '1'.repeat(64) };
      for (let i = 0; i < 2_000 && small.listener.subscribers > 0; i++) {
        small.events.emit('event.appended', { ...payload, seq: i });
        if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await eventually(async () => expect(small.listener.subscribers).toBe(0));
      expect(small.logs.join('')).toContain('api events subscriber too slow; disconnected subject=carol');
      reader.socket.terminate();
    } finally {
      await small.close();
    }
  });
});

describe('TLS', () => {
  it('serves HTTPS and WSS with the self-signed pair from data_dir, trusted when pinned', async () => {
    const secure = await startApiFixture({ tls: true });
    try {
      expect(secure.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const pinned = await callMethod(secure, 'identity.whoami', {}, secure.tokens.alice);
      expect(pinned.json).toMatchObject({ ok: true, value: { subject: 'alice' } });
      await expect(httpCall(`${secure.url}/api/v1/health`)).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
      // The same pair the postgres listener uses (data_dir/tls), with the fingerprint the banner prints.
      expect(new X509Certificate(secure.tls!.cert).fingerprint256).toBe(secure.tls!.fingerprint256);

      const socket = await openEventSocket(secure, await buyTicket(secure, secure.tokens.alice));
      secure.hold();
      await eventually(async () => expect(socket.messages.map((m) => m.event)).toEqual(['approval.requested']));
      const closing = secure.close();
      // Shutdown tells subscribers why (1001 going away) rather than cutting them.
      expect(await socket.closed).toEqual({ code: 1001, reason: 'the gateway is shutting down' });
      await closing;
    } finally {
      await secure.close();
    }
  });
});
