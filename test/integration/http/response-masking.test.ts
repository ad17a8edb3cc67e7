import { brotliCompressSync, brotliDecompressSync, deflateRawSync, deflateSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startHttpTestGateway, startUpstream, type HttpTestGateway, type TestUpstream } from './http-fixture.js';
import { request } from 'node:http';

// Response masking through a real gateway: JSON by field path and by detectors on every string
// (nested, member names too), text by detectors, compressed bodies decoded and encoded again,
// Content-Length fixed up; bodies that cannot be masked are refused, not passed.

const CUSTOMERS = {
  customers: [
    { id: 1, name: 'Ada', email: 'ada@example.com', card: '4111 1111 1111 1111', address: { street: '1 Main St', zip: '12345' }, notes: ['call ada.l@example.org'] },
    { id: 2, name: 'Bob', email: 'bob@example.net', card: 4242424242424242, address: { street: '2 Side St', zip: '99999' }, notes: [] },
  ],
  meta: { owner: 'ops@example.com', 'escaped\u00e9': 'tel\u003a x', note: 'escaped \\u0040 and "quotes"' },
};

let upstream: TestUpstream;
let gateway: HttpTestGateway;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const json = Buffer.from(JSON.stringify(CUSTOMERS));
    switch (url.pathname) {
      case '/customers':
        res.setHeader('content-type', 'application/json; charset=utf-8');
        res.end(json);
        return;
      case '/chunked':
        res.setHeader('content-type', 'application/json');
        // Written a few bytes at a time: the masker sees values split across chunks.
        for (let i = 0; i < json.length; i += 7) res.write(json.subarray(i, i + 7));
        res.end();
        return;
      case '/gzip':
      case '/deflate':
      case '/deflate-raw':
      case '/br': {
        const coding = url.pathname.slice(1);
        res.setHeader('content-type', 'application/json');
        res.setHeader('content-encoding', coding === 'deflate-raw' ? 'deflate' : coding);
        const body = coding === 'gzip' ? gzipSync(json) : coding === 'br' ? brotliCompressSync(json) : coding === 'deflate' ? deflateSync(json) : deflateRawSync(json);
        res.setHeader('content-length', body.length);
        res.setHeader('etag', '"abc"');
        res.end(body);
        return;
      }
      case '/text':
        res.setHeader('content-type', 'text/plain');
        res.end('line one mails carol@example.com\nsecond line: 4111-1111-1111-1111\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n');
        return;
      case '/image':
        res.setHeader('content-type', 'image/png');
        res.end(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
        return;
      case '/broken-json': {
        const body = '{"customers": [{"email": "x@example.com"}, oops';
        res.setHeader('content-type', 'application/json');
        res.setHeader('content-length', body.length);
        res.end(body);
        return;
      }
      case '/broken-json-streamed':
        res.setHeader('content-type', 'application/json');
        res.write('{"customers": [{"email": "x@example.com"}');
        res.end(', oops');
        return;
      case '/zstd':
        res.setHeader('content-type', 'application/json');
        res.setHeader('content-encoding', 'zstd');
        res.end(Buffer.from([1, 2, 3]));
        return;
      case '/base/redirect':
        res.statusCode = 302;
        res.setHeader('location', `http://127.0.0.1:${upstream.port}/base/next?x=1`);
        res.end();
        return;
      case '/header-pii':
        res.setHeader('x-contact', 'dora@example.com');
        res.setHeader('content-type', 'application/json');
        res.end('{}');
        return;
      default:
        res.statusCode = 404;
        res.end();
    }
  });
  gateway = await startHttpTestGateway({
    resources: [`{ name: crm, type: http, upstream: "${upstream.url}" }`, `{ name: files, type: http, upstream: "${upstream.url}", pass_content_types: ["image/*"] }`, `{ name: based, type: http, upstream: "${upstream.url}/base" }`],
    policy: ['{ name: ci-all, match: { groups: [ci, support], resources: [crm, files, based] }, effect: allow }'],
    masking: [
      '{ name: emails, detect: email, strategy: partial }',
      '{ name: cards, detect: card, strategy: redact }',
      '{ name: keys, detect: private_key, strategy: redact }',
      '{ name: customer-email, json_paths: ["$.customers[*].email"], strategy: hash }',
      '{ name: customer-address, json_paths: ["$.customers[*].address", "$..card"], strategy: redact }',
      '{ name: support-sees-email, json_paths: ["$.customers[*].email"], strategy: partial, groups: [support] }',
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

function get(path: string, token = gateway.token, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gateway.base}${path}`, { headers: { ...bearer(token), ...headers } });
}

type Customers = typeof CUSTOMERS;

describe('JSON response masking', () => {
  it('masks by field path and by detectors on every nested string, member names included', async () => {
    const response = await get('/r/crm/customers');
    expect(response.status).toBe(200);
    const text = await response.text();
    // Exact length, not chunked: the body was small enough to mask whole.
    expect(response.headers.get('content-length')).toBe(String(Buffer.byteLength(text)));
    const body = JSON.parse(text) as Customers;
    const [ada, bob] = body.customers;
    expect(ada!.email).toMatch(/^[0-9a-f]{32}$/);
    expect(bob!.email).toMatch(/^[0-9a-f]{32}$/);
    expect(ada!.email).not.toBe(bob!.email);
    expect(ada!.address).toEqual({ street: '[redacted]', zip: '[redacted]' });
    expect(ada!.card).toBe('[redacted]');
    expect(bob!.card).toBe('[redacted]');
    expect(ada!.notes).toEqual(['call ****@example.org']);
    expect(ada!.name).toBe('Ada');
    expect(ada!.id).toBe(1);
    expect(body.meta.owner).toBe('****@example.com');
    expect(body.meta.note).toBe('escaped \\u0040 and "quotes"');
    // Whole stored values: a keyed hash is hex and may contain digit runs like 4111 by chance.
    expect(text).not.toMatch(/ada@example\.com|bob@example\.net|4111 1111 1111 1111|4242424242424242|"12345"|"99999"|1 Main St|2 Side St/);
  });

  it('applies the rule scoped to the caller’s group over the unscoped one', async () => {
    const body = (await (await get('/r/crm/customers', gateway.supportToken)).json()) as Customers;
    expect(body.customers[0]!.email).toBe('****@example.com');
  });

  it('masks values split across chunks of a streamed body the same way', async () => {
    const direct = await (await get('/r/crm/customers')).text();
    const response = await get('/r/crm/chunked');
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    expect(await response.text()).toBe(direct);
  });

  it('decodes gzip, deflate (zlib and raw) and br bodies, masks them, and encodes them again', async () => {
    const expected = await (await get('/r/crm/customers')).text();
    for (const coding of ['gzip', 'deflate', 'deflate-raw', 'br']) {
      const raw = await rawGet(gateway.base, `/r/crm/${coding}`, { authorization: `Bearer ${gateway.token}`, 'accept-encoding': 'gzip, deflate, br' });
      expect(raw.status, coding).toBe(200);
      const encoding = coding === 'deflate-raw' ? 'deflate' : coding;
      expect(raw.headers['content-encoding'], coding).toBe(encoding);
      // The digest-like headers of the upstream's bytes no longer hold.
      expect(raw.headers.etag, coding).toBeUndefined();
      expect(Number(raw.headers['content-length']), coding).toBe(raw.body.length);
      const decoded = encoding === 'gzip' ? gunzipSync(raw.body) : encoding === 'br' ? brotliDecompressSync(raw.body) : (await import('node:zlib')).inflateSync(raw.body);
      expect(decoded.toString(), coding).toBe(expected);
    }
  });

  it('narrows Accept-Encoding to codings it can decode', async () => {
    await get('/r/crm/customers', gateway.token, { 'accept-encoding': 'zstd, br;q=0.9, gzip;q=0.5, compress' });
    expect(upstream.seen.at(-1)!.headers['accept-encoding']).toBe('br;q=0.9, gzip;q=0.5');
  });

  it('refuses a body it cannot mask: invalid JSON is cut, an unknown coding and a binary type are refused', async () => {
    const broken = await get('/r/crm/broken-json');
    expect(broken.status).toBe(502);
    expect(await broken.text()).toMatch(/could not be masked.*not JSON/);
    // Streamed: the head went out before the error; the body is cut, so the client sees a failure, never the rest.
    const streamed = await get('/r/crm/broken-json-streamed');
    expect(streamed.status).toBe(200);
    await expect(streamed.text()).rejects.toThrow();
    const zstd = await get('/r/crm/zstd');
    expect(zstd.status).toBe(502);
    expect(await zstd.text()).toMatch(/content-encoding zstd/);
    const image = await get('/r/crm/image');
    expect(image.status).toBe(502);
    expect(await image.text()).toMatch(/image\/png, which Sluice cannot mask/);
    // ... unless the resource passes that type.
    const passed = await get('/r/files/image');
    expect(passed.status).toBe(200);
    expect(Buffer.from(await passed.arrayBuffer())).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  });
});

describe('text and headers', () => {
  it('masks text bodies by detectors, PEM blocks across lines included', async () => {
    const text = await (await get('/r/crm/text')).text();
    expect(text).toBe('line one mails ****@example.com\nsecond line: [redacted:card]\n[redacted:private_key]\n');
  });

  it('masks response header values and turns upstream redirects into gateway paths', async () => {
    const pii = await get('/r/crm/header-pii');
    expect(pii.headers.get('x-contact')).toBe('****@example.com');
    const redirect = await rawGet(gateway.base, '/r/based/redirect', { authorization: `Bearer ${gateway.token}` });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe('/r/based/next?x=1');
  });
});

function rawGet(base: string, path: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}
