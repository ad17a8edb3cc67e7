import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../helpers/external-program.js';
import { startHttpTestGateway, startUpstream, type HttpTestGateway, type TestUpstream } from './http-fixture.js';

// curl, as a pipeline step would call an API through Sluice.

const run = promisify(execFile);
const curl = findProgram('curl');
let upstream: TestUpstream;
let gateway: HttpTestGateway;

beforeAll(async () => {
  if (!curl) return;
  upstream = await startUpstream((req, res, body) => {
    const json = JSON.stringify({ owner: 'ada@example.com', got: body.toString(), key: req.headers['x-api-key'] });
    res.setHeader('content-type', 'application/json');
    if (String(req.headers['accept-encoding'] ?? '').includes('gzip')) {
      res.setHeader('content-encoding', 'gzip');
      res.end(gzipSync(json));
    } else {
      res.end(json);
    }
  });
  gateway = await startHttpTestGateway({
    resources: [`{ name: api, type: http, upstream: "${upstream.url}", inject: { header: X-Api-Key, value: "\${env:API_TOKEN}" } }`],
    policy: ['{ name: ci-all, match: { groups: [ci], methods: [GET, POST] }, effect: allow }'],
    masking: ['{ name: emails, detect: email, strategy: partial }'],
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe.skipIf(!curl)('curl through the gateway', () => {
  it('gets a masked, decompressed answer with the credential injected upstream and scrubbed from the answer', async () => {
    const { stdout } = await run(curl!, ['-sS', '--compressed', '-H', `Authorization: Bearer ${gateway.token}`, `${gateway.base}/r/api/x`]);
    expect(JSON.parse(stdout)).toEqual({ owner: '****@example.com', got: '', key: '[secret]' });
    expect(upstream.seen.at(-1)!.headers['x-api-key']).toBe('upstream-secret-value-0001');
  });

  it('posts a body with 100-continue and gets refusals as JSON with the Sluice-Error header', async () => {
    const posted = await run(curl!, ['-sS', '-H', `Authorization: Bearer ${gateway.token}`, '-H', 'Expect: 100-continue', '-H', 'content-type: application/json', '--data', '{"a":1}', `${gateway.base}/r/api/x`]);
    expect(JSON.parse(posted.stdout).got).toBe('{"a":1}');
    const denied = await run(curl!, ['-sS', '-i', '-X', 'DELETE', '-H', `Authorization: Bearer ${gateway.token}`, `${gateway.base}/r/api/x`]);
    expect(denied.stdout).toMatch(/^HTTP\/1\.1 403/);
    expect(denied.stdout).toMatch(/sluice-error: denied/i);
    expect(denied.stdout).toContain('"message":"denied: no policy rule allows DELETE /x on api"');
  });
});
