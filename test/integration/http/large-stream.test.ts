import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChildGateway, type ChildGateway } from './child-gateway.js';
import { bearer, startUpstream, type TestUpstream } from './http-fixture.js';

// A 100 MB JSON array, generated as it is sent, streamed through the gateway with field-path and
// detector masking on: every record masked, and the gateway (in its own process, measured from
// /proc) never holds more than a small part of it.

const TARGET_BYTES = 100 * 1024 * 1024;
let upstream: TestUpstream;
let gateway: ChildGateway;
let records = 0;

function record(id: number): string {
  // Every tenth note holds an address the email detector must find.
  const note = id % 10 === 0 ? `contact ops${id}@corp.example for help` : 'plain text with nothing to hide in it';
  return `{"id":${id},"email":"user${id}@example.com","name":"Customer ${id}","note":"${note}","score":${(id % 100) / 100}}`;
}

beforeAll(async () => {
  upstream = await startUpstream(async (_req, res) => {
    res.setHeader('content-type', 'application/json');
    let sent = 0;
    let id = 0;
    res.write('[');
    while (sent < TARGET_BYTES) {
      let chunk = '';
      while (chunk.length < 64 * 1024) chunk += `${id > 0 ? ',' : ''}${record(++id)}`;
      sent += chunk.length;
      if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
    }
    records = id;
    res.end(']');
  });
  gateway = await startChildGateway({
    resources: [`{ name: crm, type: http, upstream: "${upstream.url}" }`],
    policy: ['{ name: ci-all, match: { groups: [ci] }, effect: allow }'],
    masking: ['{ name: emails, detect: email, strategy: partial }', '{ name: customer-email, json_paths: ["$[*].email"], strategy: hash }'],
  });
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('a 100 MB JSON array', () => {
  it('streams through masked, with bounded gateway memory', async () => {
    // Warm up (code loaded, pools filled) before the baseline.
    await (await fetch(`${gateway.base}/r/crm/warmup`, { headers: bearer(gateway.token) })).body?.cancel();
    const baseline = gateway.rss();
    const started = Date.now();
    const response = await fetch(`${gateway.base}/r/crm/all`, { headers: bearer(gateway.token) });
    expect(response.status).toBe(200);
    expect(response.headers.get('transfer-encoding')).toBe('chunked');
    let bytes = 0;
    let emails = 0;
    let detected = 0;
    let leaked = 0;
    let tail = '';
    let first = '';
    const decoder = new TextDecoder();
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      bytes += chunk.length;
      const text = tail + decoder.decode(chunk, { stream: true });
      // Count whole records only (up to the last record boundary); the rest waits for the next chunk.
      const cut = text.lastIndexOf('},{') + 1;
      const body = text.slice(0, cut);
      emails += body.match(/"email":"[0-9a-f]{32}"/g)?.length ?? 0;
      detected += body.match(/contact \*\*\*\*@corp\.example/g)?.length ?? 0;
      leaked += body.match(/user\d+@example\.com|ops\d+@corp/g)?.length ?? 0;
      if (first.length < 300) first += body;
      tail = text.slice(cut);
    }
    emails += tail.match(/"email":"[0-9a-f]{32}"/g)?.length ?? 0;
    detected += tail.match(/contact \*\*\*\*@corp\.example/g)?.length ?? 0;
    leaked += tail.match(/user\d+@example\.com|ops\d+@corp/g)?.length ?? 0;
    const seconds = (Date.now() - started) / 1000;
    const growth = gateway.peakRss() - baseline;
    process.stdout.write(
      `[large-stream] ${(bytes / 1048576).toFixed(1)} MiB, ${records} records in ${seconds.toFixed(1)} s (${(bytes / 1048576 / seconds).toFixed(1)} MiB/s); gateway RSS ${(baseline / 1048576).toFixed(0)} MiB before, peak ${(gateway.peakRss() / 1048576).toFixed(0)} MiB (+${(growth / 1048576).toFixed(1)} MiB)\n`,
    );
    expect(first.startsWith('[{"id":1,"email":"')).toBe(true);
    expect(leaked).toBe(0);
    expect(emails).toBe(records);
    expect(detected).toBe(Math.floor(records / 10));
    expect(bytes).toBeGreaterThan(TARGET_BYTES * 0.9);
    // Streamed, not held: the growth is a small fraction of the body (GC slack and socket buffers).
    expect(growth).toBeLessThan(64 * 1024 * 1024);
  }, 180_000);
});
