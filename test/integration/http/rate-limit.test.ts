import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, startHttpTestGateway, startUpstream, type HttpTestGateway, type TestUpstream } from './http-fixture.js';

// limits statements_per_minute on the HTTP gateway: requests per minute per caller and resource,
// whatever connections they come on; past it a 429 with Retry-After, recorded as a limit event,
// and the upstream never sees the request.

let upstream: TestUpstream;
let gateway: HttpTestGateway;

beforeAll(async () => {
  upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  gateway = await startHttpTestGateway({
    resources: [`{ name: api, type: http, upstream: "${upstream.url}" }`],
    policy: ['{ name: reads, match: { groups: [ci, support] }, effect: allow }'],
    limits: '{ rules: [{ name: ci-pace, groups: [ci], statements_per_minute: 3 }] }',
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('requests per minute on the HTTP gateway', () => {
  it('refuses the caller past its limit across connections, and leaves other callers alone', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      // A new connection each time: the limit is the caller's, not the connection's.
      const response = await fetch(`${gateway.base}/r/api/items/${i}`, { headers: { ...bearer(gateway.token), connection: 'close' } });
      statuses.push(response.status);
      if (response.status === 429) {
        expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(response.headers.get('sluice-error')).toBe('rate_limited');
        expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/more than 3 requests a minute to api \(limits\.rules\[ci-pace\]\.statements_per_minute\); retry in \d+ s/);
      } else {
        await response.arrayBuffer();
      }
    }
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect(upstream.seen.map((request) => request.url)).toEqual(['/items/0', '/items/1', '/items/2']);
    // Another caller (no limit applies to support) is unaffected.
    expect((await fetch(`${gateway.base}/r/api/items/9`, { headers: bearer(gateway.supportToken) })).status).toBe(200);
    // The refusal is in the caller's session as a limit event.
    await gateway.engine.store.flush();
    const sessions = await gateway.engine.store.listSessions({ protocol: 'http' });
    const events = (await Promise.all(sessions.map((session) => gateway.engine.store.listEvents(session.id)))).flat();
    expect(events.filter((event) => event.kind === 'limit').map((event) => event.payload)).toEqual([
      { limit: 'statements_per_minute', value: 3, rule: 'ci-pace', action: 'refused', text: 'GET /items/3' },
    ]);
  });
});
