import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openAuditReader, openAuditStore } from '../../proxy/audit/audit-store.js';
import { loadOrCreateSigningKey } from '../../proxy/audit/signing-key.js';
import { verifyStore } from '../../proxy/audit/verify-store.js';
import type { AuditStore, SessionRecording, SessionStart } from '../../proxy/audit/audit-types.js';
import { measure, type BenchResult } from './measure.js';

// Every statement through the gateway becomes one audit event, so the store's sustained insert
// rate bounds recorded statements per second. Measured through SessionRecording.event, as the
// gateway writes, on a real file in the temp directory. p50/p99 are per call: for batched that is
// the time the caller is held (queueing only), for strict the wait for the commit.

export const START: SessionStart = {
  resource: 'bench-db',
  protocol: 'postgres',
  identity: { subject: 'bench', issuer: 'sluice:token', method: 'token', groups: ['bench'] },
  clientAddress: '127.0.0.1:50000',
  application: 'pgbench',
};

/** A typical statement event: pgbench's select-only statement with its parameter. */
export function queryPayload(n: number): Readonly<Record<string, unknown>> {
  return { protocol: 'extended', text: 'SELECT abalance FROM pgbench_accounts WHERE aid = $1;', params: [String(n)], duration_ms: 0.08, rows: 1, outcome: 'ok', tags: ['SELECT 1'] };
}

export async function auditBenchmarks(): Promise<BenchResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-audit-bench-'));
  try {
    return [await batchedInserts(join(dir, 'batched')), await strictSequential(join(dir, 'strict-1')), await strictConcurrent(join(dir, 'strict-8')), await verifyMillion(join(dir, 'verify'))];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function withStore<T>(dataDir: string, durability: 'strict' | 'batched', use: (store: AuditStore) => Promise<T>): Promise<T> {
  const store = await openAuditStore({ dataDir, durability });
  try {
    const result = await use(store);
    if (store.failure) throw store.failure;
    return result;
  } finally {
    await store.close();
  }
}

/** 200k events across 8 sessions, queued as fast as the caller can, then flushed. */
function batchedInserts(dataDir: string): Promise<BenchResult> {
  return withStore(dataDir, 'batched', async (store) => {
    const total = 200_000;
    const sessions = Array.from({ length: 8 }, () => store.beginSession(START));
    await store.flush();
    const calls: number[] = [];
    const start = performance.now();
    // Queued in slices with a turn of the event loop between them, as a gateway's sockets would.
    for (let sent = 0; sent < total; ) {
      for (const end = sent + 1_000; sent < end; sent++) {
        const before = performance.now();
        void sessions[sent % sessions.length]!.event('query', queryPayload(sent));
        calls.push(performance.now() - before);
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
    await store.flush();
    const elapsed = performance.now() - start;
    const { batches } = store.stats();
    return result(`audit batched: ${total / 1_000}k events, 8 sessions (${batches} commits)`, total / (elapsed / 1_000), calls);
  });
}

/** `sluice verify`'s work over 1M events in 100 sessions (each chain, the ledger, a checkpoint); one run, reported as events/s. */
async function verifyMillion(dataDir: string): Promise<BenchResult> {
  const total = Number(process.env.SLUICE_BENCH_VERIFY_EVENTS ?? 1_000_000);
  const key = await loadOrCreateSigningKey(dataDir);
  await withStore(dataDir, 'batched', async (store) => {
    const sessions = Array.from({ length: 100 }, () => store.beginSession(START));
    for (let sent = 0; sent < total; ) {
      for (const end = Math.min(total, sent + 5_000); sent < end; sent++) void sessions[sent % sessions.length]!.event('query', queryPayload(sent));
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const session of sessions) void session.end('closed', { statements: total / 100, errors: 0, rows: total / 100 });
    await store.checkpoint(key);
  });
  const reader = await openAuditReader(dataDir);
  try {
    const start = performance.now();
    const verified = await verifyStore(reader, key.publicJwk);
    const seconds = (performance.now() - start) / 1_000;
    if (!verified.ok) throw new Error(`the bench store does not verify: ${verified.problem.message}`);
    return { name: `sluice verify: ${(verified.events / 1e6).toFixed(1)}M events, 100 sessions (${seconds.toFixed(1)} s)`, opsPerSecond: verified.events / seconds, p50Micros: 0, p99Micros: 0 };
  } finally {
    await reader.close();
  }
}

/** One session awaiting each event's commit before the next (fsync per commit). */
function strictSequential(dataDir: string): Promise<BenchResult> {
  return withStore(dataDir, 'strict', async (store) => {
    const session = store.beginSession(START);
    let n = 0;
    return measure('audit strict: 1 session awaiting each commit', () => session.event('query', queryPayload(n++)));
  });
}

/** 8 sessions each awaiting its own events: commits are shared by whoever is waiting. */
function strictConcurrent(dataDir: string): Promise<BenchResult> {
  return withStore(dataDir, 'strict', async (store) => {
    const sessions: SessionRecording[] = Array.from({ length: 8 }, () => store.beginSession(START));
    await store.flush();
    const latencies: number[] = [];
    const start = performance.now();
    const end = start + 2_000;
    await Promise.all(
      sessions.map(async (session) => {
        for (let n = 0; performance.now() < end; n++) {
          const before = performance.now();
          await session.event('query', queryPayload(n));
          latencies.push(performance.now() - before);
        }
      }),
    );
    const elapsed = performance.now() - start;
    return result(`audit strict: 8 sessions awaiting commits (${store.stats().batches} commits)`, latencies.length / (elapsed / 1_000), latencies);
  });
}

function result(name: string, opsPerSecond: number, samplesMs: number[]): BenchResult {
  samplesMs.sort((a, b) => a - b);
  const at = (q: number) => (samplesMs[Math.min(samplesMs.length - 1, Math.floor(q * samplesMs.length))] ?? 0) * 1_000;
  return { name, opsPerSecond, p50Micros: at(0.5), p99Micros: at(0.99) };
}
