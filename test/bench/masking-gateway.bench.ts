// Masking's leg of `npm run bench`: a 2M-row, 5-column result read straight from PostgreSQL and
// through `sluice serve` with column rules and content detectors on, at the speed a client reads.
import { execFile } from 'node:child_process';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';
import { serialize } from 'pg-protocol';
import pg from 'pg';
import { Secret } from '../../proxy/config/secret.js';
import { UPSTREAM_LIMITS } from '../../proxy/postgres/message-reader.js';
import { connectUpstream } from '../../proxy/postgres/upstream-connect.js';
import { findProgram } from '../helpers/external-program.js';
import { rawLogin, untilReadyForQuery } from '../helpers/raw-client.js';
import { startBenchGateway, type BenchGateway } from './gateway.bench.js';
import type { ExtraTarget, PgbenchTarget } from './pgbench.bench.js';

const ROWS = Number(process.env.SLUICE_BENCH_MASKING_ROWS ?? 2_000_000);

const MASKING_POLICY = ['{ name: bench, match: { groups: [bench], kinds: [select, set, transaction, insert, update, delete] }, effect: allow }'];
const MASKING_RULES = [
  '{ name: emails, columns: [public.bench_people.email], strategy: partial }',
  '{ name: cards, columns: [public.bench_people.card], strategy: partial }',
  '{ name: pii, detect: [email, phone, card, ssn], strategy: redact }',
];

/** The gateway with masking on, as a pgbench target, reporting the 2M-row comparison. */
export async function maskingGatewayTarget(upstream: PgbenchTarget): Promise<ExtraTarget> {
  await createPeople(upstream);
  const gateway = await startBenchGateway(upstream, { name: 'sluice (masking on)', policy: MASKING_POLICY, masking: MASKING_RULES });
  return {
    target: gateway.target,
    stop: () => gateway.stop(),
    async report() {
      const query = serialize.query('SELECT id, name, email, card, note FROM bench_people');
      const direct = await timed(async () => {
        const connection = await connectUpstream(
          { resource: 'bench', host: upstream.host, port: upstream.port, user: upstream.user, database: upstream.database, password: new Secret(upstream.password, 'inline'), sslmode: 'disable' },
          {},
          UPSTREAM_LIMITS,
        );
        return readAll(connection.socket, query);
      });
      const idleRss = gateway.serve.rss();
      const through = await timed(() => readThrough(gateway, query));
      // The same stream through a gateway without masking rules: what the relay itself costs.
      const plain = await startBenchGateway(upstream, { name: 'sluice (no masking)', policy: MASKING_POLICY });
      const unmasked = await timed(() => readThrough(plain, query)).finally(() => plain.stop());
      const line = (name: string, run: { seconds: number; bytes: number }) =>
        `  ${name.padEnd(24)} ${Math.round(ROWS / run.seconds).toLocaleString('en-US').padStart(10)} rows/s (${(run.bytes / 1024 / 1024).toFixed(0)} MB in ${run.seconds.toFixed(1)} s), ${(direct.seconds / run.seconds).toFixed(2)}x direct`;
      const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
      // What a user's client sees: psql reading the whole result (it parses and formats every row).
      const sql = 'SELECT id, name, email, card, note FROM bench_people';
      const psqlDirect = await psqlSeconds({ ...upstream }, sql);
      const psqlMasked = await psqlSeconds(gateway.target, sql);
      return [
        `${ROWS.toLocaleString('en-US')} rows x 5 columns (2 column rules, 4 detectors on every text cell), read as fast as a client can:`,
        line('direct', direct),
        line('through Sluice, masking', through),
        line('through Sluice, no rules', unmasked),
        `  masking gateway RSS: ${mb(idleRss)} before the stream, peak ${mb(gateway.serve.peakRss())}`,
        psqlDirect === undefined || psqlMasked === undefined
          ? '  psql leg skipped: psql not found'
          : `  psql -At to /dev/null: direct ${psqlDirect.toFixed(1)} s, through Sluice with masking ${psqlMasked.toFixed(1)} s (${(psqlDirect / psqlMasked).toFixed(2)}x)`,
      ].join('\n');
    },
  };
}

/** bench_people: ids, names, emails, cards and notes where one row in ten leaks an email or a phone. */
async function createPeople(upstream: PgbenchTarget): Promise<void> {
  const client = new pg.Client({ host: upstream.host, port: upstream.port, user: upstream.user, password: upstream.password, database: upstream.database });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>("SELECT count(*) AS n FROM pg_class WHERE relname = 'bench_people'");
    if (rows[0]!.n !== '0') return;
    await client.query(`CREATE TABLE bench_people AS
      SELECT i AS id, 'Customer ' || i AS name, 'person' || i || '@example.com' AS email,
             '4111 1111 1111 ' || lpad((i % 10000)::text, 4, '0') AS card,
             CASE WHEN i % 10 = 0 THEN 'call +1 555 01' || lpad((i % 100)::text, 2, '0') || ' or mail p' || i || '@example.org'
                  ELSE 'ordered item ' || (i % 977) || ', shipped in ' || (i % 9) || ' days' END AS note
      FROM generate_series(1, ${ROWS}) i`);
  } finally {
    await client.end();
  }
}

/** Seconds psql takes to fetch and print `sql` from `target` into /dev/null; undefined without psql. */
async function psqlSeconds(target: PgbenchTarget, sql: string): Promise<number | undefined> {
  const psql = findProgram('psql');
  if (!psql) return undefined;
  const started = performance.now();
  await promisify(execFile)(psql, ['-X', '-At', '-o', '/dev/null', '-h', target.host, '-p', String(target.port), '-U', target.user, '-d', target.database, '-c', sql], {
    env: { ...process.env, PGPASSWORD: target.password, PGSSLMODE: 'disable' },
    maxBuffer: 1024 * 1024,
  });
  return (performance.now() - started) / 1000;
}

async function readThrough(gateway: BenchGateway, query: Buffer): Promise<number> {
  const { host, port, database, password } = gateway.target;
  return readAll(await rawLogin({ host, port, database, token: password }), query);
}

async function readAll(socket: Socket, query: Buffer): Promise<number> {
  const received = untilReadyForQuery(socket);
  socket.resume();
  socket.write(query);
  const bytes = await received;
  socket.end(serialize.end());
  return bytes;
}

async function timed(run: () => Promise<number>): Promise<{ seconds: number; bytes: number }> {
  const started = performance.now();
  const bytes = await run();
  return { seconds: (performance.now() - started) / 1000, bytes };
}
