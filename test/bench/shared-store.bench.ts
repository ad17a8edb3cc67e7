import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { openPostgresAuditStore, type PostgresAuditStore } from '../../proxy/audit/postgres/postgres-store.js';
import { loadOrCreateSigningKey } from '../../proxy/audit/signing-key.js';
import { publicKeyLine } from '../../proxy/common/checkpoint-verify.js';
import { startEmbeddedPostgres } from '../../tools/embedded-postgres.js';
import { queryPayload, START } from './audit.bench.js';
import type { BenchResult } from './measure.js';

// The shared PostgreSQL audit store (audit.store: postgres://…): events/s sustained into one
// store database from one gateway, and from two writing at once, as many runners would. Real
// PostgreSQL with fsync on (not the tests' throwaway settings), on the same machine.

const PER_GATEWAY = 100_000;

export async function sharedStoreBenchmarks(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-shared-store-bench-'));
  const pgDir = await mkdtemp(join(tmpdir(), 'sluice-shared-store-pg-'));
  const postgres = await startEmbeddedPostgres({ dir: pgDir, password: `bench-${Math.random().toString(36).slice(2)}`, persistent: false });
  try {
    const admin = new pg.Client({ ...postgres.server, database: 'postgres', ssl: false });
    await admin.connect();
    await admin.query('CREATE DATABASE audit');
    await admin.end();
    const { host, port, user, password } = postgres.server;
    const url = `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/audit`;
    let gateway = 0;
    const open = async (): Promise<PostgresAuditStore> => {
      const key = await loadOrCreateSigningKey(join(dir, `gateway-${++gateway}`));
      return openPostgresAuditStore({ connectionString: url, durability: 'batched', gateway: { id: key.kid, name: `bench-${gateway}`, publicKey: publicKeyLine(key.publicJwk) } });
    };
    return [await rate(url, 1, open), await rate(url, 2, open)];
  } finally {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(pgDir, { recursive: true, force: true });
  }
}

/** `count` stores (gateways) each queue PER_GATEWAY events over 8 sessions as fast as a gateway would, then flush. */
async function rate(url: string, count: number, open: () => Promise<PostgresAuditStore>): Promise<BenchResult> {
  const stores = await Promise.all(Array.from({ length: count }, () => open()));
  try {
    const started = performance.now();
    await Promise.all(
      stores.map(async (store) => {
        const sessions = Array.from({ length: 8 }, () => store.beginSession(START));
        for (let sent = 0; sent < PER_GATEWAY; ) {
          for (const end = sent + 1_000; sent < end; sent++) {
            void sessions[sent % 8]!.event('query', queryPayload(sent));
          }
          // A turn of the event loop between slices, as a gateway's sockets would give.
          await new Promise((resolve) => setImmediate(resolve));
        }
        await store.flush();
        if (store.failure) throw store.failure;
      }),
    );
    const seconds = (performance.now() - started) / 1_000;
    const batches = stores.reduce((sum, store) => sum + store.stats().batches, 0);
    return { name: `audit PostgreSQL store: ${count} gateway${count > 1 ? 's' : ''} × ${PER_GATEWAY / 1_000}k events (${batches} commits)`, opsPerSecond: (count * PER_GATEWAY) / seconds, p50Micros: 0, p99Micros: 0 };
  } finally {
    await Promise.all(stores.map((store) => store.close()));
  }
}
