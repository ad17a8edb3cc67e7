// The gateway's legs of `npm run bench`: `sluice serve` as its own process (recording on, as in
// production) in front of the bench's PostgreSQL, for the pgbench comparison and a 10M-row stream.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serialize } from 'pg-protocol';
import { createStaticToken, hashToken } from '../../proxy/identity/static-tokens.js';
import { rawLogin } from '../helpers/raw-client.js';
import type { ExtraTarget, PgbenchTarget } from './pgbench.bench.js';

const ROOT = resolve(import.meta.dirname, '../..');

export interface BenchGateway {
  readonly target: PgbenchTarget;
  readonly pid: number;
  /** Peak resident memory of the gateway process so far (VmHWM), bytes. */
  peakRss(): number;
  stop(): Promise<void>;
}

/** Starts `sluice serve` (plaintext listener, batched recording) in front of `upstream`. */
export async function startBenchGateway(upstream: PgbenchTarget): Promise<BenchGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-'));
  await chmod(dir, 0o700);
  const { token } = createStaticToken();
  await writeFile(join(dir, 'pw'), upstream.password, { mode: 0o600 });
  const configFile = join(dir, 'sluice.yaml');
  await writeFile(
    configFile,
    [
      'data_dir: ./data',
      'listen: { postgres: { address: "127.0.0.1:0", tls: off } }',
      `identity: { tokens: [{ name: bench, sha256: "${hashToken(token)}", groups: [bench] }] }`,
      'resources:',
      `  - { name: bench, type: postgres, upstream: "postgres://${upstream.user}@${upstream.host}:${upstream.port}/${upstream.database}", password: "\${file:pw}", sslmode: disable }`,
      'policy: [{ name: bench, match: { groups: [bench] }, effect: allow }]',
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'proxy/cli/main.ts'), 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolvePort, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /postgres listening on [^:]+:(\d+)/.exec(out);
      if (match) resolvePort(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`sluice serve exited with ${code}: ${out}`)));
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  return {
    target: { name: 'sluice gateway', host: '127.0.0.1', port, user: 'bench', password: token, database: 'bench' },
    pid: child.pid!,
    peakRss: () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024,
    async stop() {
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Streams `rows` rows through the gateway as fast as a client reads them; rows/s, MB/s and the gateway's peak RSS. */
export async function streamThroughGateway(gateway: BenchGateway, rows: number): Promise<string> {
  const socket = await rawLogin({ host: gateway.target.host, port: gateway.target.port, database: gateway.target.database, token: gateway.target.password });
  const started = performance.now();
  let bytes = 0;
  await new Promise<void>((done, reject) => {
    let tail = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      tail = Buffer.concat([tail, chunk.subarray(-6)]).subarray(-6);
      if (tail.length === 6 && tail[0] === 0x5a && tail.readInt32BE(1) === 5) done();
    });
    socket.on('error', reject);
    socket.resume();
    socket.write(serialize.query(`SELECT i, 'customer ' || i AS name FROM generate_series(1, ${rows}) i`));
  });
  const seconds = (performance.now() - started) / 1000;
  socket.end(serialize.end());
  const mb = bytes / 1024 / 1024;
  return [
    `stream of ${rows.toLocaleString('en-US')} rows through the gateway (recording on):`,
    `  ${Math.round(rows / seconds).toLocaleString('en-US')} rows/s, ${(mb / seconds).toFixed(1)} MB/s (${mb.toFixed(0)} MB in ${seconds.toFixed(1)} s)`,
    `  gateway peak RSS: ${(gateway.peakRss() / 1024 / 1024).toFixed(1)} MB`,
  ].join('\n');
}

/** The gateway as a pgbench target, reporting a 10M-row stream after the pgbench runs. */
export async function gatewayTarget(upstream: PgbenchTarget): Promise<ExtraTarget> {
  const gateway = await startBenchGateway(upstream);
  return { target: gateway.target, stop: () => gateway.stop(), report: () => streamThroughGateway(gateway, 10_000_000) };
}
