import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startHttpTestGateway, startUpstream, type HttpTestGateway, type TestUpstream } from './http-fixture.js';

// Credential injection: the caller's Authorization never reaches the upstream, the gateway's
// credential does (header, query parameter or basic auth), and nothing the caller sends can
// override or duplicate it.

const SECRET = 'injected-secret-7f3a9c1e55';
let upstream: TestUpstream;
let gateway: HttpTestGateway;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, path: req.url }));
  });
  gateway = await startHttpTestGateway({
    secret: SECRET,
    resources: [
      `{ name: by-header, type: http, upstream: "${upstream.url}/api/v2?tenant=acme", inject: { header: X-Api-Key, value: "\${env:API_TOKEN}" } }`,
      `{ name: by-bearer, type: http, upstream: "${upstream.url}", inject: { header: Authorization, value: "Bearer \${env:API_TOKEN}" } }`,
      `{ name: by-query, type: http, upstream: "${upstream.url}", inject: { query: api_key, value: "\${env:API_TOKEN}" } }`,
      `{ name: by-basic, type: http, upstream: "${upstream.url}", inject: { basic: { username: svc, password: "\${env:API_TOKEN}" } } }`,
      `{ name: own-port, type: http, upstream: "${upstream.url}/v1", listen: { address: "127.0.0.1:0", tls: off }, inject: { header: X-Api-Key, value: "\${env:API_TOKEN}" } }`,
    ],
    policy: ['{ name: ci-all, match: { groups: [ci], resources: [by-header, by-bearer, by-query, by-basic, own-port] }, effect: allow }'],
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const last = () => upstream.seen.at(-1)!;

describe('credential injection', () => {
  it('replaces the caller credential with the configured header, which the caller cannot override', async () => {
    const response = await fetch(`${gateway.base}/r/by-header/items/7?page=2`, { headers: { ...bearer(gateway.token), 'x-api-key': 'forged', 'X-API-KEY': 'forged-again' } });
    expect(response.status).toBe(200);
    const seen = last();
    expect(seen.headers['x-api-key']).toBe(SECRET);
    expect(seen.rawHeaders.filter((name) => name.toLowerCase() === 'x-api-key')).toHaveLength(1);
    expect(seen.headers.authorization).toBeUndefined();
    // The upstream's base path and its own query parameters come first; the caller's follow.
    expect(seen.url).toBe('/api/v2/items/7?tenant=acme&page=2');
    expect(seen.headers.host).toBe(`127.0.0.1:${upstream.port}`);
    expect(await response.json()).toEqual({ ok: true, path: '/api/v2/items/7?tenant=acme&page=2' });
  });

  it("injects an Authorization header of its own after dropping the caller's", async () => {
    await fetch(`${gateway.base}/r/by-bearer/x`, { headers: bearer(gateway.token) });
    expect(last().headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(last().rawHeaders.filter((name) => name.toLowerCase() === 'authorization')).toHaveLength(1);
  });

  it('adds the query parameter and drops any the caller sent with that name (and the upstream URL’s own)', async () => {
    await fetch(`${gateway.base}/r/by-query/search?q=a&api_key=forged&API_KEY=x&page=2`, { headers: bearer(gateway.token) });
    const url = new URL(last().url, 'http://x');
    expect(url.searchParams.getAll('api_key')).toEqual([SECRET]);
    expect(url.searchParams.get('API_KEY')).toBeNull();
    expect(url.search).toBe(`?q=a&page=2&api_key=${SECRET}`);
    const tenant = await fetch(`${gateway.base}/r/by-header/x?tenant=evil&TENANT=evil2`, { headers: bearer(gateway.token) });
    expect(tenant.status).toBe(200);
    expect(last().url).toBe('/api/v2/x?tenant=acme');
  });

  it('sends basic auth with the configured user and password', async () => {
    await fetch(`${gateway.base}/r/by-basic/x`, { headers: { ...bearer(gateway.token), authorization: `Bearer ${gateway.token}` } });
    expect(last().headers.authorization).toBe(`Basic ${Buffer.from(`svc:${SECRET}`).toString('base64')}`);
  });

  it('strips hop-by-hop headers, those Connection names, and forwarding headers a caller could forge', async () => {
    const raw = await rawRequest(gateway.base, '/r/by-header/hop', {
      authorization: `Bearer ${gateway.token}`,
      connection: 'keep-alive, X-Secret-Hop',
      'x-secret-hop': 'should not pass',
      'keep-alive': 'timeout=5',
      te: 'trailers',
      'proxy-authorization': 'Basic Zm9vOmJhcg==',
      'x-forwarded-for': '10.0.0.1',
      forwarded: 'for=10.0.0.1',
      'x-real-ip': '10.0.0.1',
      'x-kept': 'yes',
    });
    expect(raw.status).toBe(200);
    const headers = last().headers;
    for (const name of ['x-secret-hop', 'keep-alive', 'te', 'proxy-authorization', 'x-forwarded-for', 'forwarded', 'x-real-ip']) expect(headers[name], name).toBeUndefined();
    expect(headers['x-kept']).toBe('yes');
  });
});

describe('a resource on its own port', () => {
  it('serves the resource at the root of its listener', async () => {
    const own = gateway.engine.http!.listeners.find((listener) => listener.resource === 'own-port')!;
    const response = await fetch(`http://127.0.0.1:${own.port}/items?x=1`, { headers: bearer(gateway.token) });
    expect(response.status).toBe(200);
    expect(last().url).toBe('/v1/items?x=1');
    expect(last().headers['x-api-key']).toBe(SECRET);
    // /r/NAME/ means nothing special there: it is a path of this resource.
    await fetch(`http://127.0.0.1:${own.port}/r/by-basic/x`, { headers: bearer(gateway.token) });
    expect(last().url).toBe('/v1/r/by-basic/x');
    expect(last().headers.authorization).toBeUndefined();
  });
});

describe('who may reach what', () => {
  it('answers 401 without a credential, and with a wrong or non-bearer one', async () => {
    const none = await fetch(`${gateway.base}/r/by-header/x`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="sluice"');
    expect(((await none.json()) as { error: { message: string } }).error.message).toMatch(/no credential/);
    const wrong = await fetch(`${gateway.base}/r/by-header/x`, { headers: bearer('not-a-token') });
    expect(wrong.status).toBe(401);
    const basic = await fetch(`${gateway.base}/r/by-header/x`, { headers: { authorization: 'Basic Zm9vOmJhcg==' } });
    expect(basic.status).toBe(401);
  });

  it('answers 404 for an unknown resource, or one the caller has no rule for, naming no upstream', async () => {
    const count = upstream.seen.length;
    const unknown = await fetch(`${gateway.base}/r/nope/x`, { headers: bearer(gateway.token) });
    expect(unknown.status).toBe(404);
    const text = await unknown.text();
    expect(text).toContain('resource \\"nope\\" does not exist or you may not use it');
    expect(text).toContain('your http resources: by-header, by-bearer, by-query, by-basic, own-port');
    expect(text).not.toContain('127.0.0.1');
    const forbidden = await fetch(`${gateway.base}/r/by-header/x`, { headers: bearer(gateway.outsiderToken) });
    expect(forbidden.status).toBe(404);
    expect(await forbidden.text()).not.toContain(String(upstream.port));
    // Unauthenticated callers learn nothing about which resources exist.
    expect((await fetch(`${gateway.base}/r/nope/x`)).status).toBe(401);
    expect(upstream.seen.length).toBe(count);
  });

  it('refuses targets that are not a resource path: absolute URLs, CONNECT, `*`, and paths outside /r/', async () => {
    const count = upstream.seen.length;
    for (const target of ['http://evil.example/x', '*', '/x', '/r/', '/r/by-header/../by-basic/x', '/r/by-header/a/%2e%2e/b', '/r/by-header//a', '/r/by-header/a\\b']) {
      const answer = await rawLine(gateway.base, `GET ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${gateway.token}\r\n\r\n`);
      expect(answer, target).toMatch(/^HTTP\/1\.1 40[05]/);
    }
    const connect = await rawLine(gateway.base, `CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\n\r\n`);
    expect(connect).toMatch(/^HTTP\/1\.1 405/);
    expect(upstream.seen.length).toBe(count);
  });
});

/** A request with exactly these headers (fetch adds and drops some), answered as status and body. */
function rawRequest(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends raw bytes and resolves with the first line the gateway answers. */
export async function rawLine(base: string, bytes: string): Promise<string> {
  const { connect } = await import('node:net');
  const { port } = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('close', () => resolve(data.split('\r\n')[0] ?? ''));
    socket.on('error', () => resolve(data.split('\r\n')[0] ?? ''));
    socket.write(bytes, 'latin1');
    setTimeout(() => socket.end(), 300);
  });
}
