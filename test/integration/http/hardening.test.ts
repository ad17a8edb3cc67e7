import { writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../../../proxy/postgres/tls-material.js';
import { bearer, startHttpTestGateway, startUpstream, type HttpTestGateway, type TestUpstream } from './http-fixture.js';

// Request smuggling and the other ways a gateway is tricked into forwarding what it did not
// decide on: every one is refused before a byte reaches the upstream. Then what an upstream can
// do wrong: be down, present a certificate nobody vouches for, answer with broken framing.

let upstream: TestUpstream;
let gateway: HttpTestGateway;
let tlsUpstream: HttpsServer;
let brokenUpstream: NetServer;
let closedPort: number;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => void res.end(`ok ${req.method} ${req.url}`));
  const { cert, key } = createSelfSignedCertificate({ hostnames: ['127.0.0.1', 'localhost'] });
  tlsUpstream = createHttpsServer({ cert, key }, (_req, res) => res.end('tls ok'));
  await new Promise<void>((resolve) => tlsUpstream.listen(0, '127.0.0.1', resolve));
  // An upstream whose answer carries both Content-Length and Transfer-Encoding.
  brokenUpstream = createNetServer((socket) => {
    socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n'));
  });
  await new Promise<void>((resolve) => brokenUpstream.listen(0, '127.0.0.1', resolve));
  const probe = createNetServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const tlsPort = (tlsUpstream.address() as AddressInfo).port;
  const dir = await import('node:os').then((os) => os.tmpdir());
  const caFile = join(dir, `sluice-http-ca-${process.pid}.pem`);
  await writeFile(caFile, cert);
  gateway = await startHttpTestGateway({
    resources: [
      `{ name: api, type: http, upstream: "${upstream.url}" }`,
      `{ name: down, type: http, upstream: "http://127.0.0.1:${closedPort}" }`,
      `{ name: untrusted, type: http, upstream: "https://127.0.0.1:${tlsPort}" }`,
      `{ name: trusted, type: http, upstream: "https://127.0.0.1:${tlsPort}", ca: "${caFile}" }`,
      `{ name: broken, type: http, upstream: "http://127.0.0.1:${(brokenUpstream.address() as AddressInfo).port}" }`,
    ],
    policy: [
      '{ name: ci-all, match: { groups: [ci] }, effect: allow }',
      '{ name: no-admin, match: { paths: ["/admin/**"] }, effect: deny }',
    ],
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await new Promise((resolve) => tlsUpstream?.close(resolve));
  await new Promise((resolve) => brokenUpstream?.close(resolve));
});

/** Writes raw bytes on one connection; resolves with everything the gateway sent until it closed (or 500 ms of quiet). */
function raw(bytes: string): Promise<string> {
  const { port } = new URL(gateway.base);
  return new Promise((resolve) => {
    const socket = connect(Number(port), '127.0.0.1');
    let data = '';
    let quiet: NodeJS.Timeout;
    const done = () => {
      socket.destroy();
      resolve(data);
    };
    const arm = () => {
      clearTimeout(quiet);
      quiet = setTimeout(done, 500);
    };
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      arm();
    });
    socket.on('close', () => {
      clearTimeout(quiet);
      resolve(data);
    });
    socket.on('error', () => {});
    socket.write(bytes, 'latin1');
    arm();
  });
}

const auth = () => `Authorization: Bearer ${gateway.token}\r\n`;
const statuses = (answer: string) => [...answer.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => Number(match[1]));

describe('request smuggling is refused before the upstream sees anything', () => {
  const attempts: Record<string, () => string> = {
    'Content-Length with Transfer-Encoding': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /r/api/admin/x HTTP/1.1\r\nHost: g\r\n\r\n`,
    'Transfer-Encoding with Content-Length (reversed)': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Transfer-Encoding: chunked\r\nContent-Length: 30\r\n\r\n0\r\n\r\n`,
    'duplicate Content-Length (different)': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Content-Length: 4\r\nContent-Length: 40\r\n\r\nabcd`,
    'duplicate Content-Length (same)': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Content-Length: 4\r\nContent-Length: 4\r\n\r\nabcd`,
    'Content-Length list': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Content-Length: 4, 4\r\n\r\nabcd`,
    'obs-fold header continuation': () => `GET /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}X-Folded: a\r\n  Transfer-Encoding: chunked\r\n\r\n`,
    'invalid chunk size': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`,
    'chunk size overflow': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nabc\r\n`,
    'bare LF after chunk size': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`,
    'Transfer-Encoding other than chunked': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    'Transfer-Encoding in HTTP/1.0': () => `POST /r/api/x HTTP/1.0\r\nHost: g\r\n${auth()}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    'space before the colon': () => `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n`,
    'two Host headers': () => `GET /r/api/x HTTP/1.1\r\nHost: g\r\nHost: evil\r\n${auth()}\r\n`,
    'bare LF line endings': () => `GET /r/api/x HTTP/1.1\nHost: g\n${auth().replace('\r\n', '\n')}\n`,
  };
  for (const [name, bytes] of Object.entries(attempts)) {
    it(`refuses ${name} (400, connection closed)`, async () => {
      const before = upstream.seen.length;
      const answer = await raw(bytes());
      expect(statuses(answer), answer).toEqual([400]);
      expect(answer.toLowerCase()).toContain('connection: close');
      expect(upstream.seen.length).toBe(before);
    });
  }

  it('answers 431 for headers past the cap', async () => {
    const answer = await raw(`GET /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(statuses(answer)).toEqual([431]);
  });

  it('decides each pipelined request on its own, and re-frames bodies (a body never becomes a request)', async () => {
    const before = upstream.seen.length;
    const smuggled = `GET /r/api/admin/secret HTTP/1.1\r\nHost: g\r\n\r\n`;
    const answer = await raw(
      `POST /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Content-Length: ${smuggled.length}\r\n\r\n${smuggled}` + `GET /r/api/admin/x HTTP/1.1\r\nHost: g\r\n${auth()}\r\n` + `GET /r/api/y HTTP/1.1\r\nHost: g\r\n${auth()}\r\n`,
    );
    expect(statuses(answer)).toEqual([200, 403, 200]);
    const seen = upstream.seen.slice(before);
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(['POST /x', 'GET /y']);
    expect(seen[0]!.body.toString()).toBe(smuggled);
    expect(seen[0]!.headers['content-length']).toBe(String(smuggled.length));
  });

  it('frames a streamed body of any method for the upstream: a GET body never becomes a request there', async () => {
    const before = upstream.seen.length;
    const smuggled = 'GET /admin/secret HTTP/1.1\r\nHost: u\r\n\r\n';
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    for (const method of ['GET', 'DELETE', 'OPTIONS']) {
      const answer = await raw(`${method} /r/api/x HTTP/1.1\r\nHost: g\r\n${auth()}Transfer-Encoding: chunked\r\n\r\n${chunk}`);
      expect(statuses(answer), method).toEqual([200]);
    }
    const seen = upstream.seen.slice(before);
    expect(seen.map((request) => `${request.method} ${request.url}`)).toEqual(['GET /x', 'DELETE /x', 'OPTIONS /x']);
    for (const request of seen) {
      expect(request.body.toString()).toBe(smuggled);
      expect(request.headers['transfer-encoding']).toBe('chunked');
    }
  });

  it('refuses an upstream answer with conflicting framing (502) and never relays what follows it', async () => {
    const response = await fetch(`${gateway.base}/r/broken/x`, { headers: bearer(gateway.token) });
    expect(response.status).toBe(502);
    const text = await response.text();
    expect(text).toContain('upstream_invalid');
    expect(text).not.toContain('smuggled');
  });
});

describe('upstream failures', () => {
  it('answers 502 with a clear message when the upstream is down, naming the resource but not its address', async () => {
    const response = await fetch(`${gateway.base}/r/down/x`, { headers: bearer(gateway.token) });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error).toEqual({ code: 'upstream_unreachable', message: 'the upstream of down refused the connection (ECONNREFUSED): it is down or not listening; try again later' });
    expect(JSON.stringify(body)).not.toContain(String(closedPort));
    expect(response.headers.get('sluice-error')).toBe('upstream_unreachable');
    expect(gateway.logs.join('')).toContain(`upstream=http://127.0.0.1:${closedPort}`);
  });

  it('verifies upstream TLS by default and trusts a configured CA file', async () => {
    const untrusted = await fetch(`${gateway.base}/r/untrusted/x`, { headers: bearer(gateway.token) });
    expect(untrusted.status).toBe(502);
    expect(((await untrusted.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'upstream_tls', message: expect.stringContaining('DEPTH_ZERO_SELF_SIGNED_CERT') });
    const trusted = await fetch(`${gateway.base}/r/trusted/x`, { headers: bearer(gateway.token) });
    expect(trusted.status).toBe(200);
    expect(await trusted.text()).toBe('tls ok');
  });

  it('answers 504 when the upstream does not answer within the resource timeout', async () => {
    const slow = await startUpstream(() => new Promise(() => {}));
    const gatewayWithSlow = await startHttpTestGateway({
      resources: [`{ name: slow, type: http, upstream: "${slow.url}", timeout: 300ms }`],
      policy: ['{ name: ci-all, match: { groups: [ci] }, effect: allow }'],
    });
    try {
      const response = await fetch(`${gatewayWithSlow.base}/r/slow/x`, { headers: bearer(gatewayWithSlow.token) });
      expect(response.status).toBe(504);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe('upstream_timeout');
    } finally {
      await gatewayWithSlow.close();
      await slow.close();
    }
  });
});
