import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { rawLogin, untilReadyForQuery } from '../../helpers/raw-client.js';
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
    // Warm the gateway's code paths and its allocator (the SQL parser's WASM memory commits
    // pages as it is first used) with a fast 70 MB before taking the baseline.
    socket.resume();
    const warm = untilReadyForQuery(socket);
    socket.write(serialize.query(`SELECT i, repeat('x', 200) FROM generate_series(1, 300000) i`));
    await warm;
    socket.removeAllListeners('data');
    socket.pause();
    const baseline = serve.rss();
    // ~230 bytes per row: ~230 MB in all, far more than the 64 MB the gateway may grow by.
    socket.write(serialize.query(`SELECT i, repeat('x', 200) FROM generate_series(1, ${ROWS}) i`));

    let bytes = 0;
    let peak = baseline;
    let done = false;
    let slow = true;
    const sampler = setInterval(() => (peak = Math.max(peak, serve.rss())), 50);
    const finished = untilReadyForQuery(socket, (chunk) => {
      bytes += chunk.length;
      if (slow) {
        // The slow consumer: one chunk (at most 64 KB) per 20 ms, a few MB/s.
        socket.pause();
        setTimeout(() => socket.resume(), 20);
      }
    }).then(() => {
      done = true;
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

  it('holds a fast COPY FROM STDIN back while the upstream is slow, instead of buffering it', async () => {
    const admin = await db.connect();
    // Each row costs the server a millisecond: PostgreSQL reads the COPY stream slowly.
    await admin.query(`
      CREATE TABLE slow_sink (line text);
      CREATE FUNCTION crawl() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.001); RETURN NEW; END $$;
      CREATE TRIGGER crawl BEFORE INSERT ON slow_sink FOR EACH ROW EXECUTE FUNCTION crawl();`);
    const socket = await rawLogin({ host: serve.host, port: serve.port, database: config.resource, token: config.token });
    socket.resume();
    socket.write(serialize.query('COPY slow_sink FROM STDIN'));
    await new Promise((resolve) => setTimeout(resolve, 200));
    const baseline = serve.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, serve.rss())), 50);
    // Offer 256 MB of rows as fast as the gateway takes them, for 3 s.
    const row = serialize.copyData(Buffer.from(`${'x'.repeat(1_000)}\n`));
    const chunk = Buffer.concat(Array.from({ length: 256 }, () => row));
    let offered = 0;
    const until = Date.now() + 3_000;
    while (Date.now() < until && offered < 256 * MB) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
      offered += chunk.length;
    }
    clearInterval(sampler);
    peak = Math.max(peak, serve.rss());
    socket.destroy();
    const growth = peak - baseline;
    process.stdout.write(`COPY IN: ${(offered / MB).toFixed(0)} MB accepted in 3 s; gateway RSS growth ${(growth / MB).toFixed(1)} MB\n`);
    // The slow upstream takes ~1 MB/s; what the gateway accepted beyond that sits in socket buffers, not its heap.
    expect(offered).toBeLessThan(64 * MB);
    expect(growth).toBeLessThan(64 * MB);
  }, 60_000);
});
