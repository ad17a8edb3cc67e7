import { performance } from 'node:perf_hooks';

export interface BenchResult {
  readonly name: string;
  readonly opsPerSecond: number;
  readonly p50Micros: number;
  readonly p99Micros: number;
}

/** Runs `fn` sequentially for about `seconds` after a warm-up, and reports rate and latency. */
export async function measure(name: string, fn: () => unknown, seconds = 2): Promise<BenchResult> {
  for (let i = 0; i < 200; i++) await fn();
  const samples: number[] = [];
  const end = performance.now() + seconds * 1_000;
  const start = performance.now();
  while (performance.now() < end) {
    const before = performance.now();
    await fn();
    samples.push(performance.now() - before);
  }
  const elapsed = performance.now() - start;
  samples.sort((a, b) => a - b);
  const at = (q: number) => (samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0) * 1_000;
  return { name, opsPerSecond: samples.length / (elapsed / 1_000), p50Micros: at(0.5), p99Micros: at(0.99) };
}

export function formatResults(results: readonly BenchResult[]): string {
  const width = Math.max(...results.map((r) => r.name.length));
  const header = `${'benchmark'.padEnd(width)}  ${'ops/s'.padStart(10)}  ${'p50 µs'.padStart(8)}  ${'p99 µs'.padStart(8)}`;
  const rows = results.map(
    (r) =>
      `${r.name.padEnd(width)}  ${Math.round(r.opsPerSecond).toLocaleString('en-US').padStart(10)}  ${r.p50Micros.toFixed(1).padStart(8)}  ${r.p99Micros.toFixed(1).padStart(8)}`,
  );
  return [header, ...rows].join('\n');
}
