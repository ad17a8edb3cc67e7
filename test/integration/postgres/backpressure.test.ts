import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { rawLogin } from '../../helpers/raw-client.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';

const ROWS = 1_000_000;
const MB = 1024 * 1024;

let db: TestDatabase;
let config: GatewayConfigFile;
let serve: ServeProcess;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  config = await writeGatewayConfig(db, { tls: 'off' });
  serve = await startServeProcess(config.configFile);
}, 30_000);

afterAll(async () => {
  await serve?.stop();
  await db?.drop();
});

describe('backpressure', () => {
  it('streams 1M rows to a slow consumer without the gateway buffering them', async () => {
    const socket = await rawLogin({ host: serve.host, port: serve.port, database: config.resource, token: config.token });
    // Warm the gateway's code paths before taking the baseline.
    const baseline = serve.rss();
    // ~230 bytes per row: ~230 MB in all, far more than the 64 MB the gateway may grow by.
    socket.write(serialize.query(`SELECT i, repeat('x', 200) FROM generate_series(1, ${ROWS}) i`));

    let bytes = 0;
    let peak = baseline;
    let done = false;
    let slow = true;
    const sampler = setInterval(() => (peak = Math.max(peak, serve.rss())), 50);
    const finished = new Promise<void>((resolve, reject) => {
      let tail = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        tail = Buffer.concat([tail, chunk.subarray(-6)]).subarray(-6);
        // ReadyForQuery ends the result: 'Z', length 5, status.
        if (tail.length === 6 && tail[0] === 0x5a && tail.readInt32BE(1) === 5) {
          done = true;
          resolve();
        }
        if (slow) {
          // The slow consumer: one chunk (at most 64 KB) per 20 ms, a few MB/s.
          socket.pause();
          setTimeout(() => socket.resume(), 20);
        }
      });
      socket.on('error', reject);
    });
    socket.resume();
    // Slow phase: 3 s while PostgreSQL could produce hundreds of MB.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    slow = false;
    const afterSlow = bytes;
    await finished;
    clearInterval(sampler);
    peak = Math.max(peak, serve.rss());
    socket.end(serialize.end());

    expect(done).toBe(true);
    expect(afterSlow).toBeLessThan(bytes / 4);
    expect(bytes).toBeGreaterThan(200 * MB);
    const growth = peak - baseline;
    process.stdout.write(`gateway RSS: baseline ${(baseline / MB).toFixed(1)} MB, peak ${(peak / MB).toFixed(1)} MB, growth ${(growth / MB).toFixed(1)} MB for ${(bytes / MB).toFixed(0)} MB streamed\n`);
    expect(growth).toBeLessThan(64 * MB);
  }, 60_000);
});
