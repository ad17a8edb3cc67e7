// The HTTP gateway's leg of `npm run bench`: autocannon (from npm) against a small JSON API
// directly, and through the gateway (its own process, recording on, the credential injected and
// scrubbed) without masking rules and with JSON masking (field paths and detectors). Each
// process is real: upstream, gateway and load generator share the machine's cores. The gateway
// runs compiled, as the published `sluice` does (tsc into node_modules/.cache first); set
// SLUICE_BENCH_HTTP_TSX=1 to run it from source through tsx instead, and SLUICE_BENCH_HTTP_PROFILE=DIR
// to write the gateway's V8 CPU profiles there (open them in Chrome DevTools' Performance tab).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../../tools/embedded-postgres.js';
import { startChildGateway, type ChildGateway } from '../integration/http/child-gateway.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BUILD = join(ROOT, 'node_modules', '.cache', 'sluice-bench-http');

const DURATION_S = Number(process.env.SLUICE_BENCH_HTTP_SECONDS ?? 10);
const CONNECTIONS = 32;

// A page of an API's answer: five customers with what masking looks for (~1.4 KB). Two upstreams
// serve it: from memory (the worst case for any proxy: the upstream costs almost nothing, so the
// ratio is the proxy's cost against a trivial server's), and from PostgreSQL, a query per
// request, as a real API does.
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
const fixed = Buffer.from(JSON.stringify({ page: 1, per_page: 5, customers }));
const database = process.env.BENCH_DATABASE_URL;
const pool = database ? new (require('pg').Pool)({ connectionString: database, max: 8 }) : undefined;
const QUERY = "SELECT id, name, email, phone, card, json_build_object('street', street, 'city', city, 'zip', zip) AS address, notes FROM customers ORDER BY id LIMIT 5 OFFSET $1";
let page = 0;
const send = (res, body) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
};
const server = http.createServer((req, res) => {
  if (!pool) return send(res, fixed);
  const offset = (page++ % 20) * 5;
  pool.query(QUERY, [offset]).then(
    (result) => send(res, Buffer.from(JSON.stringify({ page: offset / 5 + 1, per_page: 5, customers: result.rows }))),
    (error) => { res.writeHead(500); res.end(String(error.message)); },
  );
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'));
`;

// The reference for "a proxy in the path" (as pgbouncer is for PostgreSQL): the smallest keep-alive
// reverse proxy Node can be, with nothing of Sluice's (no auth, policy, masking or audit).
const NODE_PROXY = `
const http = require('node:http');
const [host, port] = process.env.BENCH_UPSTREAM.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
const server = http.createServer((req, res) => {
  const up = http.request({ host, port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
    res.writeHead(answer.statusCode, answer.headers);
    answer.pipe(res);
  });
  up.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(up);
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
  const sections = [await scenario('an upstream answering from memory', undefined, entry)];
  const postgres = await customersDatabase();
  try {
    sections.push(await scenario('an upstream reading each page from PostgreSQL 18', postgres.url, entry));
  } finally {
    await postgres.stop();
  }
  return [
    `HTTP gateway (${entry ? 'compiled' : 'from source via tsx'}, recording on): autocannon, ${CONNECTIONS} connections, ${DURATION_S} s per row, a 1.4 KB JSON answer of 5 customers.`,
    'Upstream, proxy and autocannon share the machine\'s cores, so "vs direct" is a CPU ratio as much as a speed one.',
    ...sections,
    '(CPU µs/req: the serving process alone, all its threads; a proxy\'s row does not include the upstream it calls. nginx runs one worker, as Sluice runs one process.)',
    '',
  ].join('\n');
}

async function scenario(title: string, databaseUrl: string | undefined, entry: readonly string[] | undefined): Promise<string> {
  const upstream = await startScript(UPSTREAM, databaseUrl ? { BENCH_DATABASE_URL: databaseUrl } : {});
  const rows: Row[] = [];
  try {
    rows.push(await run('direct', `${upstream.url}/customers`, {}, upstream.child.pid!));
    const nginx = await startNginx(upstream.url);
    if (nginx) {
      try {
        rows.push(await run('nginx reverse proxy (reference)', `${nginx.url}/customers`, {}, nginx.worker));
      } finally {
        await nginx.stop();
      }
    }
    const proxy = await startScript(NODE_PROXY, { BENCH_UPSTREAM: upstream.url.replace('http://', '') });
    try {
      rows.push(await run('15-line Node proxy (reference)', `${proxy.url}/customers`, {}, proxy.child.pid!));
    } finally {
      proxy.child.kill('SIGTERM');
    }
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
    '',
    `With ${title}:`,
    `${'target'.padEnd(width)}  ${'req/s'.padStart(9)}  ${'vs direct'.padStart(9)}  ${'p50 ms'.padStart(7)}  ${'p99 ms'.padStart(7)}  ${'CPU µs/req'.padStart(10)}  errors`,
    ...rows.map(
      (row) =>
        `${row.target.padEnd(width)}  ${Math.round(row.requests).toLocaleString('en-US').padStart(9)}  ${`${(row.requests / direct).toFixed(2)}x`.padStart(9)}  ${row.p50.toFixed(2).padStart(7)}  ${row.p99.toFixed(2).padStart(7)}  ${Math.round(row.cpuMicros).toString().padStart(10)}  ${row.errors}`,
    ),
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

/** A node -e script that prints `port N` once it listens. */
async function startScript(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /port (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`a bench process exited with ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

/** nginx (Debian's, when installed) in front of the upstream with one worker and upstream keep-alive; undefined with a printed reason when absent. */
async function startNginx(upstream: string): Promise<{ url: string; worker: number; stop(): Promise<void> } | undefined> {
  const binary = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((path) => existsSync(path));
  if (!binary) {
    process.stderr.write('[skip] nginx reference row: nginx not installed (apt-get install nginx-light)\n');
    return undefined;
  }
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-nginx-'));
  const port = await freePort();
  const conf = [
    'worker_processes 1; daemon off; pid nginx.pid; error_log stderr error;',
    'events { worker_connections 1024; }',
    'http {',
    '  access_log off; client_body_temp_path body; proxy_temp_path proxy;',
    `  upstream api { server ${upstream.replace('http://', '')}; keepalive 64; }`,
    `  server { listen 127.0.0.1:${port}; keepalive_requests 1000000;`,
    '    location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection ""; } }',
    '}',
  ].join('\n');
  await writeFile(join(dir, 'nginx.conf'), conf);
  const child = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const worker = await eventually(() => workerOf(child.pid!));
  return {
    url: `http://127.0.0.1:${port}`,
    worker,
    async stop() {
      child.kill('SIGQUIT');
      await new Promise((resolve) => child.once('exit', resolve));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The nginx worker (the master's child) once it is listening. */
function workerOf(master: number): number | undefined {
  const children = readFileSync(`/proc/${master}/task/${master}/children`, 'utf8').trim();
  return children ? Number(children.split(' ')[0]) : undefined;
}

async function eventually<T>(probe: () => T | undefined): Promise<T> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const value = probe();
    if (value !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      return value;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('a bench process did not start');
}

/** A throwaway PostgreSQL 18 with 100 customers, for the upstream that reads its pages from it. */
async function customersDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-http-pg-'));
  const postgres = await startEmbeddedPostgres({ dir, password: 'bench', persistent: false, port: await freePort(), throwaway: true });
  const { host, port, user, password } = postgres.server;
  const url = `postgres://${user}:${password}@${host}:${port}/postgres`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`CREATE TABLE customers (id int PRIMARY KEY, name text, email text, phone text, card text, street text, city text, zip text, notes text);
    INSERT INTO customers SELECT 1000 + i, 'Customer ' || i, 'customer' || i || '@example.com', '+1 415 555 ' || lpad(i::text, 4, '0'), '4111 1111 1111 1111',
      i || ' Main Street', 'Springfield', lpad(i::text, 5, '1'), 'prefers email, account in good standing since 2019' FROM generate_series(0, 99) AS i`);
  await client.end();
  return {
    url,
    async stop() {
      await postgres.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
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
  const profile = process.env.SLUICE_BENCH_HTTP_PROFILE;
  return profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`, runner] : [runner];
}
