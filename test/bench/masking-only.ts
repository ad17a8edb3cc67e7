// Only masking's benchmarks (`npx tsx test/bench/masking-only.ts`): detector throughput and the
// 2M-row result through the gateway, without the pgbench legs of `npm run bench`.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../tools/embedded-postgres.js';
import { maskingGatewayTarget } from './masking-gateway.bench.js';
import { maskingBenchmarks } from './masking.bench.js';
import { formatResults } from './measure.js';

if (!process.env.SLUICE_BENCH_SKIP_DETECTORS) process.stdout.write(`${formatResults(await maskingBenchmarks())}\n\n`);
const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-pg-'));
const postgres = await startEmbeddedPostgres({ dir, password: `bench-${Math.random().toString(36).slice(2)}`, persistent: false, throwaway: true });
try {
  const admin = new pg.Client({ ...postgres.server, database: 'postgres', ssl: false });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  const target = await maskingGatewayTarget({ ...postgres.server, name: 'direct', database: 'bench' });
  try {
    process.stdout.write(`${await target.report!()}\n`);
  } finally {
    await target.stop();
  }
} finally {
  await postgres.stop();
  await rm(dir, { recursive: true, force: true });
}
