// The HTTP gateway's leg of `npm run bench`: autocannon (from npm) against a small JSON API
// directly, and through the gateway (its own process, recording on, the credential injected and
// scrubbed) without masking rules and with JSON masking (field paths and detectors). Each
// process is real: upstream, gateway and load generator share the machine's cores. The gateway
// runs compiled, as the published `sluice` does (tsc into node_modules/.cache first); set
// SLUICE_BENCH_HTTP_TSX=1 to run it from source through tsx instead.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import { startChildGateway, type ChildGateway } from '../integration/http/child-gateway.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = join(ROOT, 'node_modules', '.cache', 'sluice-bench-http');

const DURATION_S = Number(process.env.SLUICE_BENCH_HTTP_SECONDS ?? 10);
const CONNECTIONS = 32;

// A page of an API's answer: five customers with what masking looks for (~1.4 KB).
const UPSTREAM = `
const http = require('node:http');
const customers = Array.from({ length: 5 }, (_, i) => ({
  id: 1000 + i,
  name: 'Customer ' + i,
  email: 'customer' + i + '@example.com',
  phone: '+1 415 555 01' + (10 + i),
  card: '4111 1111 1111 1111',
  address: { street: i + ' Main Street', city: 'Springfield', zip: '1234' + i },
  notes: 'prefers email, account in good standing since 2019',
}));
const body = Buffer.from(JSON.stringify({ page: 1, per_page: 5, customers }));
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

interface Row {
  readonly target: string;
  readonly requests: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  /** CPU time (user + system, all threads) the serving process spent per request: steadier than req/s on a shared machine. */
  readonly cpuMicros: number;
}

export async function httpBenchmarks(): Promise<string> {
  const entry = process.env.SLUICE_BENCH_HTTP_TSX ? undefined : await compiledEntry();
  const upstream = await startUpstream();
  const rows: Row[] = [];
  try {
    rows.push(await run('direct', `${upstream.url}/customers`, {}, upstream.child.pid!));
    const policy = ['{ name: bench-read, match: { groups: [ci], methods: [GET], paths: ["/customers/**"] }, effect: allow }', '{ name: no-admin, match: { paths: ["/admin/**"] }, effect: deny }'];
    const resources = [`{ name: api, type: http, upstream: "${upstream.url}", inject: { header: Authorization, value: "Bearer \${env:API_TOKEN}" } }`];
    rows.push(await throughGateway('Sluice, no masking rules (credential injected and scrubbed)', { resources, policy }, entry));
    rows.push(
      await throughGateway('Sluice, JSON masking (2 field paths, 3 detectors)', {
        resources,
        policy,
        masking: [
          '{ name: customer-email, json_paths: ["$.customers[*].email", "$.customers[*].address"], strategy: hash }',
          '{ name: pii, detect: [email, card, phone], strategy: partial }',
        ],
      }, entry),
    );
  } finally {
    upstream.child.kill('SIGTERM');
  }
  const direct = rows[0]!.requests;
  const width = Math.max(...rows.map((row) => row.target.length));
  return [
    `HTTP gateway (${entry ? 'compiled' : 'from source via tsx'}, recording on): autocannon, ${CONNECTIONS} connections, ${DURATION_S} s each, a 1.4 KB JSON answer:`,
    `${'target'.padEnd(width)}  ${'req/s'.padStart(9)}  ${'vs direct'.padStart(9)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}  ${'CPU µs/req'.padStart(10)}  errors`,
    ...rows.map(
      (row) =>
        `${row.target.padEnd(width)}  ${Math.round(row.requests).toLocaleString('en-US').padStart(9)}  ${`${(row.requests / direct).toFixed(2)}x`.padStart(9)}  ${row.p50.toFixed(2).padStart(7)}  ${row.p99.toFixed(2).padStart(7)}  ${Math.round(row.cpuMicros).toString().padStart(10)}  ${row.errors}`,
    ),
    '(CPU µs/req: the serving process alone, all its threads; the gateway row does not include the upstream it calls.)',
    '',
  ].join('\n');
}

async function throughGateway(name: string, options: Parameters<typeof startChildGateway>[0], entry: readonly string[] | undefined): Promise<Row> {
  let gateway: ChildGateway | undefined;
  try {
    gateway = await startChildGateway(options, entry);
    const url = `${gateway.base}/r/api/customers`;
    // The answer is what the gateway should make of it, before timing it.
    const sample = await (await fetch(url, { headers: { authorization: `Bearer ${gateway.token}` } })).text();
    if (!sample.includes('"customers"') || (options.masking && sample.includes('customer0@example.com'))) throw new Error(`unexpected answer through the gateway: ${sample.slice(0, 200)}`);
    return await run(name, url, { authorization: `Bearer ${gateway.token}` }, gateway.child.pid!);
  } finally {
    await gateway?.close();
  }
}

async function run(target: string, url: string, headers: Record<string, string>, pid: number): Promise<Row> {
  // Warm-up: JIT, connection pools, the store's first batches.
  await autocannon({ url, connections: CONNECTIONS, duration: 2, headers });
  const before = cpuMillis(pid);
  const result = await autocannon({ url, connections: CONNECTIONS, duration: DURATION_S, headers });
  const cpuMicros = ((cpuMillis(pid) - before) * 1000) / Math.max(1, result.requests.total);
  return { target, requests: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx, cpuMicros };
}

/** User + system CPU of a process so far (ms), from /proc (clock ticks of 10 ms). */
function cpuMillis(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function startUpstream(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-e', UPSTREAM], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /port (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`the bench upstream exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** Compiles proxy/ (tsc, as `npm run build` does) and writes a runner for it; returns the node arguments. */
async function compiledEntry(): Promise<string[]> {
  await mkdir(BUILD, { recursive: true });
  await promisify(execFile)(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', BUILD], { cwd: ROOT });
  const runner = join(BUILD, 'gateway.mjs');
  await writeFile(
    runner,
    [
      "import { loadConfig } from './proxy/config/load-config.js';",
      "import { startEngine } from './proxy/engine/engine.js';",
      "import { createLogger } from './proxy/engine/logger.js';",
      'const { config } = await loadConfig(process.argv[2], { env: process.env });',
      'const engine = await startEngine(config, { log: createLogger((line) => process.stderr.write(line)), configFile: process.argv[2] });',
      'process.stdout.write(`http listening on ${engine.http.listeners[0].port}\\n`);',
      "process.once('SIGTERM', () => void engine.close().then(() => process.exit(0)));",
      '',
    ].join('\n'),
  );
  return [runner];
}
