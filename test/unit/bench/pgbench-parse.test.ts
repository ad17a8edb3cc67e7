import { describe, expect, it } from 'vitest';
import { formatPgbenchTable } from '../../bench/pgbench.bench.js';
import { latencyPercentiles, parsePgbenchLog, parsePgbenchSummary } from '../../bench/pgbench-parse.js';

// Captured from pgbench 15.18 against PostgreSQL 18.4.
const PGBENCH_15_STDOUT = `pgbench (15.18 (Debian 15.18-0+deb12u1), server 18.4)
transaction type: <builtin: select only>
scaling factor: 1
query mode: simple
number of clients: 3
number of threads: 2
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 39245
number of failed transactions: 2 (0.005%)
latency average = 0.075 ms
initial connection time = 14.136 ms
tps = 39796.378829 (without initial connection time)
`;

const PGBENCH_13_STDOUT = `transaction type: <builtin: select only>
scaling factor: 10
query mode: prepared
number of clients: 8
number of threads: 2
duration: 15 s
number of transactions actually processed: 600123
latency average = 0.200 ms
tps = 40008.200000 (including connections establishing)
tps = 40012.734912 (excluding connections establishing)
`;

describe('parsePgbenchSummary', () => {
  it('reads TPS without initial connection time, transactions and failures (pgbench 15+)', () => {
    expect(parsePgbenchSummary(PGBENCH_15_STDOUT)).toEqual({ tps: 39796.378829, transactions: 39245, failed: 2 });
  });

  it('takes the TPS excluding connection setup from pgbench 14 and older', () => {
    expect(parsePgbenchSummary(PGBENCH_13_STDOUT)).toEqual({ tps: 40012.734912, transactions: 600123, failed: 0 });
  });

  it('refuses output without a summary, quoting its end', () => {
    expect(() => parsePgbenchSummary('pgbench: error: connection to server failed\n')).toThrow(/no TPS summary[\s\S]*connection to server failed/);
  });
});

describe('parsePgbenchLog', () => {
  it('collects the latency column (µs) of each transaction and skips failed and skipped ones', () => {
    const log = [
      '0 1 826 0 1795602397 764014',
      '1 1 584 0 1795602397 764610',
      '0 2 89 0 1795602397 764705',
      '1 7 failed 0 1795602397 765000',
      '2 3 skipped 0 1795602397 765100 12',
      '2 4 128 0 1795602397 765277 3 0',
      '',
    ].join('\n');
    expect(parsePgbenchLog(log)).toEqual([826, 584, 89, 128]);
  });

  it('appends to one array across the per-thread files', () => {
    const latencies = parsePgbenchLog('0 1 10 0 1 1\n');
    parsePgbenchLog('2 1 20 0 1 1', latencies);
    expect(latencies).toEqual([10, 20]);
  });
});

describe('latencyPercentiles', () => {
  it('gives nearest-rank p50 and p99 in milliseconds', () => {
    const micros = Array.from({ length: 1000 }, (_, index) => (1000 - index) * 10); // 10 µs .. 10,000 µs, unsorted
    expect(latencyPercentiles(micros)).toEqual({ p50Ms: 5, p99Ms: 9.9 });
    expect(latencyPercentiles([250])).toEqual({ p50Ms: 0.25, p99Ms: 0.25 });
  });

  it('reports no latency as NaN rather than zero', () => {
    const empty = latencyPercentiles([]);
    expect(Number.isNaN(empty.p50Ms) && Number.isNaN(empty.p99Ms)).toBe(true);
  });
});

describe('formatPgbenchTable', () => {
  it('shows TPS with its ratio to the direct run and to pgbouncer, and p50/p99', () => {
    const table = formatPgbenchTable(
      [
        { name: 'direct', tps: 40_000, transactions: 600_000, p50Ms: 0.18, p99Ms: 0.9, failed: 0 },
        { name: 'pgbouncer', tps: 32_000, transactions: 480_000, p50Ms: 0.22, p99Ms: 1.1, failed: 0 },
        { name: 'sluice gateway', tps: 24_000, transactions: 360_000, p50Ms: 0.3, p99Ms: 1.5, failed: 0 },
      ],
      { direct: 'direct', pgbouncer: 'pgbouncer' },
    );
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^target\s+TPS\s+vs direct\s+vs pgbouncer\s+p50 ms\s+p99 ms/);
    expect(lines[3]).toMatch(/^sluice gateway\s+24,000\s+0\.60×\s+0\.75×\s+0\.300\s+1\.500\s+360,000\s+0$/);
    expect(new Set(lines.map((line) => line.length)).size).toBe(1);
  });
});
