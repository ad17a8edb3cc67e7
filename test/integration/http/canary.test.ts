import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { canaryPassword } from '../../helpers/gateway.js';
import { eventually } from '../../helpers/eventually.js';
import { runCli } from '../../helpers/run-cli.js';
import { startTapProxy, type TapProxy } from '../../helpers/tap-proxy.js';
import { bearer, startHttpTestGateway, startUpstream, type HttpTestGateway, type TestUpstream } from './http-fixture.js';

// The gateway's credential is a unique canary; the upstream echoes everything it receives (in
// bodies, headers, redirects, compressed bodies, error pages and WebSocket messages), and every
// output a caller, an operator or an auditor can reach is searched for it.

const CANARY = canaryPassword();
let upstream: TestUpstream;
let gateway: HttpTestGateway;
let tap: TapProxy;
let wss: WebSocketServer;
const clientVisible: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream((req, res, body) => {
    const echo = JSON.stringify({ url: req.url, headers: req.headers, body: body.toString() });
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('x-echo-key', String(req.headers['x-api-key'] ?? ''));
    res.setHeader('set-cookie', `session=${String(req.headers['x-api-key'] ?? url.searchParams.get('api_key') ?? '')}`);
    switch (url.pathname) {
      case '/gzip':
        res.setHeader('content-type', 'application/json');
        res.setHeader('content-encoding', 'gzip');
        res.end(gzipSync(echo));
        return;
      case '/error':
        res.statusCode = 500;
        res.setHeader('content-type', 'text/html');
        res.end(`<h1>bad key ${String(req.headers['x-api-key'])}</h1><p>${req.url}</p><p>${String(req.headers.authorization)}</p>`);
        return;
      case '/redirect':
        res.statusCode = 302;
        res.setHeader('location', `${upstream.url}/next?key=${String(req.headers['x-api-key'])}`);
        res.end();
        return;
      case '/escaped':
        res.setHeader('content-type', 'application/json');
        res.end(`{"k":"${String(req.headers['x-api-key'] ?? '').replace(/-/g, '\\u002d')}","slashed":"${String(req.headers['x-api-key'] ?? '')}"}`);
        return;
      default:
        res.setHeader('content-type', 'application/json');
        res.end(echo);
    }
  });
  wss = new WebSocketServer({ server: upstream.server });
  wss.on('connection', (socket, req) => socket.send(JSON.stringify(req.headers)));
  gateway = await startHttpTestGateway({
    secret: CANARY,
    api: true,
    approvals: '{ timeout: 1m }',
    resources: [
      `{ name: by-header, type: http, upstream: "${upstream.url}", inject: { header: X-Api-Key, value: "\${env:API_TOKEN}" } }`,
      `{ name: by-query, type: http, upstream: "${upstream.url}", inject: { query: api_key, value: "\${env:API_TOKEN}" } }`,
      `{ name: by-basic, type: http, upstream: "${upstream.url}", inject: { basic: { username: svc, password: "\${env:API_TOKEN}" } } }`,
      '{ name: down, type: http, upstream: "http://127.0.0.1:1", inject: { header: X-Api-Key, value: "${env:API_TOKEN}" } }',
    ],
    policy: [
      '{ name: ci-all, match: { groups: [ci] }, effect: allow }',
      '{ name: hold-posts, match: { methods: [POST] }, effect: approve }',
      '{ name: no-admin, match: { paths: ["/admin/**"] }, effect: deny }',
    ],
  });
  tap = await startTapProxy({ host: '127.0.0.1', port: Number(new URL(gateway.base).port) });
});

afterAll(async () => {
  await tap?.close();
  await gateway?.close();
  wss?.close();
  await upstream?.close();
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe('the injected credential canary', () => {
  it('reaches the upstream, and appears in no response, header, log, recording, approval or CLI output', async () => {
    const base = `http://127.0.0.1:${tap.port}`;
    const get = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${base}${path}`, { ...init, redirect: 'manual', headers: { ...bearer(gateway.token), 'accept-encoding': 'gzip', ...(init.headers as Record<string, string>) } });
      clientVisible.push(JSON.stringify([...response.headers]), await response.text());
      return response;
    };
    for (const resource of ['by-header', 'by-query', 'by-basic']) {
      expect((await get(`/r/${resource}/echo?x=1`)).status).toBe(200);
      await get(`/r/${resource}/gzip`);
      expect((await get(`/r/${resource}/error`)).status).toBe(500);
      expect((await get(`/r/${resource}/redirect`)).status).toBe(302);
      await get(`/r/${resource}/escaped`);
      await get(`/r/${resource}/admin/x`);
    }
    expect((await get('/r/down/x')).status).toBe(502);
    // The upstream did get it, in each form.
    expect(upstream.seen.some((request) => request.headers['x-api-key'] === CANARY)).toBe(true);
    expect(upstream.seen.some((request) => request.url.includes(`api_key=${CANARY}`))).toBe(true);
    expect(upstream.seen.some((request) => request.headers.authorization === `Basic ${Buffer.from(`svc:${CANARY}`).toString('base64')}`)).toBe(true);

    // A held request and its approval, decided through the engine API.
    const held = get('/r/by-header/echo', { method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } });
    const approval = await eventually(async () => {
      const [pending] = gateway.engine.approvals.list({ status: 'pending' });
      if (!pending) throw new Error('not yet');
      return pending;
    });
    const decided = await fetch(`${gateway.engine.api!.url}/api/v1/approvals.decide`, { method: 'POST', headers: { ...bearer(gateway.alice), 'content-type': 'application/json' }, body: JSON.stringify({ id: approval.id, decision: 'approve' }) });
    clientVisible.push(await decided.text());
    expect((await held).status).toBe(200);
    const listed = await fetch(`${gateway.engine.api!.url}/api/v1/approvals.list`, { method: 'POST', headers: { ...bearer(gateway.alice), 'content-type': 'application/json' }, body: JSON.stringify({ status: 'all' }) });
    clientVisible.push(await listed.text());

    // A WebSocket whose upstream echoes the upgrade's headers.
    const socket = new WebSocket(`ws://127.0.0.1:${tap.port}/r/by-header/ws`, { headers: bearer(gateway.token) });
    const message = await new Promise<string>((resolve, reject) => {
      socket.once('message', (data: Buffer) => resolve(data.toString()));
      socket.once('error', reject);
    });
    clientVisible.push(message);
    expect(message).toContain('[secret]');
    socket.close();

    await gateway.engine.store.flush();
    const sessions = await runCli(['sessions', '--config', gateway.configFile], { env: {} });
    const listedSessions = await gateway.engine.store.listSessions({ protocol: 'http' });
    const shows = await Promise.all(listedSessions.slice(0, 5).map((session) => runCli(['sessions', 'show', session.id, '--config', gateway.configFile, '--json'], { env: {} })));
    const outputs = [
      ...clientVisible,
      ...tap.connections.flatMap((connection) => connection.fromServer.map((chunk) => chunk.toString('latin1'))),
      gateway.logs.join(''),
      sessions.stdout,
      sessions.stderr,
      ...shows.flatMap((show) => [show.stdout, show.stderr]),
    ];
    const forms = [CANARY, Buffer.from(`svc:${CANARY}`).toString('base64'), encodeURIComponent(CANARY)];
    // JSON answers also as a client reads them: escapes decoded (`\u002d` is `-`).
    const decoded = clientVisible.flatMap((text) => {
      try {
        return [JSON.stringify(JSON.parse(text))];
      } catch {
        return [];
      }
    });
    expect(decoded.length).toBeGreaterThan(10);
    for (const output of [...outputs, ...decoded]) for (const form of forms) expect(output).not.toContain(form);
    expect(clientVisible.join('')).toContain('[secret]');

    // The store and every file beside it, byte for byte.
    await gateway.engine.close();
    for (const file of await filesUnder(join(gateway.dir, 'data'))) {
      const bytes = await readFile(file);
      for (const form of forms) expect(bytes.includes(Buffer.from(form)), `${file} holds ${form === CANARY ? 'the canary' : 'an encoded canary'}`).toBe(false);
    }
  });
});
