// The gateway's legs of `npm run bench`: `sluice serve` as its own process (recording on, as in
// production) in front of the bench's PostgreSQL, for the pgbench comparison and a 10M-row stream.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serialize } from 'pg-protocol';
import { createStaticToken, hashToken } from '../../proxy/identity/static-tokens.js';
import { rawLogin, untilReadyForQuery } from '../helpers/raw-client.js';
import { startServeProcess, type ServeProcess } from '../helpers/serve-process.js';
import { approvalLatencyReport } from './approval.bench.js';
import type { ExtraTarget, PgbenchTarget } from './pgbench.bench.js';

export interface BenchGateway {
  readonly target: PgbenchTarget;
  readonly serve: ServeProcess;
  stop(): Promise<void>;
}

/** One rule that allows everything: the gateway still classifies each statement, but no rule set to walk. */
const ALLOW_ALL = ['{ name: bench, match: { groups: [bench], flags: [no_where, cte_write, select_into, copy_program, dangerous_function, unknown_function, set_role, explain_analyze] }, effect: allow }'];

/** What a team would run: reads and bounded writes allowed, DDL and side doors denied, unbounded writes held. */
export const REALISTIC_POLICY = [
  '{ name: ci-read, match: { groups: [bench], kinds: [select, set, transaction] }, effect: allow }',
  '{ name: ci-writes, match: { groups: [bench], kinds: [insert, update, delete], relations: ["public.pgbench_*"] }, effect: allow }',
  '{ name: no-ddl, match: { kinds: [ddl, truncate, grant] }, effect: deny, reason: "schema changes go through migrations" }',
  '{ name: keep-branches, match: { relations: [public.pgbench_branches], kinds: [delete] }, effect: deny }',
  '{ name: side-doors, match: { flags: [dangerous_function, copy_program, set_role] }, effect: deny }',
  '{ name: unbounded-writes, match: { flags: [no_where, cte_write] }, effect: approve }',
  '{ name: dba, match: { groups: [dba] }, effect: allow }',
  '{ name: analytics, match: { groups: [analytics], kinds: [select], relations: ["analytics.*"] }, effect: allow }',
];

/** Starts `sluice serve` (plaintext listener, batched recording) in front of `upstream`. */
export async function startBenchGateway(upstream: PgbenchTarget, options: { name?: string; policy?: readonly string[]; masking?: readonly string[] } = {}): Promise<BenchGateway> {
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
      'policy:',
      ...(options.policy ?? ALLOW_ALL).map((rule) => `  - ${rule}`),
      ...(options.masking ? ['masking:', ...options.masking.map((rule) => `  - ${rule}`)] : []),
      '',
    ].join('\n'),
  );
  const serve = await startServeProcess(configFile);
  return {
    target: { name: options.name ?? 'sluice gateway', host: serve.host, port: serve.port, user: 'bench', password: token, database: 'bench' },
    serve,
    async stop() {
      await serve.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Streams `rows` rows through the gateway as fast as a client reads them; rows/s, MB/s and the gateway's peak RSS. */
export async function streamThroughGateway(gateway: BenchGateway, rows: number): Promise<string> {
  const socket = await rawLogin({ host: gateway.target.host, port: gateway.target.port, database: gateway.target.database, token: gateway.target.password });
  const started = performance.now();
  const received = untilReadyForQuery(socket);
  socket.resume();
  socket.write(serialize.query(`SELECT i, 'customer ' || i AS name FROM generate_series(1, ${rows}) i`));
  const bytes = await received;
  const seconds = (performance.now() - started) / 1000;
  socket.end(serialize.end());
  const mb = bytes / 1024 / 1024;
  return [
    `stream of ${rows.toLocaleString('en-US')} rows through the gateway (recording on):`,
    `  ${Math.round(rows / seconds).toLocaleString('en-US')} rows/s, ${(mb / seconds).toFixed(1)} MB/s (${mb.toFixed(0)} MB in ${seconds.toFixed(1)} s)`,
    `  gateway peak RSS: ${(gateway.serve.peakRss() / 1024 / 1024).toFixed(1)} MB`,
  ].join('\n');
}

/** The gateway as a pgbench target (one allow-all rule), reporting a 10M-row stream after the pgbench runs. */
export async function gatewayTarget(upstream: PgbenchTarget): Promise<ExtraTarget> {
  const gateway = await startBenchGateway(upstream, { name: 'sluice (policy: allow all)' });
  return { target: gateway.target, stop: () => gateway.stop(), report: () => streamThroughGateway(gateway, 10_000_000) };
}

/** The gateway with REALISTIC_POLICY: the same pgbench run, decided against eight rules. */
export async function policyGatewayTarget(upstream: PgbenchTarget): Promise<ExtraTarget> {
  const gateway = await startBenchGateway(upstream, { name: 'sluice (realistic policy)', policy: REALISTIC_POLICY });
  return { target: gateway.target, stop: () => gateway.stop(), report: () => approvalLatencyReport(upstream) };
}
