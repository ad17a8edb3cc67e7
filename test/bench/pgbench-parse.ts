// Parsing of pgbench's summary (stdout) and per-transaction logs (--log), apart from the harness
// that runs it so a unit test can feed it fixture text.

export interface PgbenchSummary {
  /** Transactions per second, without initial connection time. */
  readonly tps: number;
  readonly transactions: number;
  readonly failed: number;
}

/** Reads the summary pgbench prints at the end of a run; throws when it has no TPS line. */
export function parsePgbenchSummary(stdout: string): PgbenchSummary {
  // pgbench 15+: "tps = N (without initial connection time)"; 14 and older print "including
  // connections establishing" and "excluding connections establishing": take the latter.
  const tps = /^tps = ([\d.]+) \((?:without initial connection time|excluding connections establishing)\)$/m.exec(stdout)?.[1];
  const transactions = /^number of transactions actually processed: (\d+)/m.exec(stdout)?.[1];
  if (tps === undefined || transactions === undefined) {
    throw new Error(`pgbench printed no TPS summary; its output ends with:\n${tail(stdout, 15)}`);
  }
  // "number of failed transactions" exists since pgbench 15; older versions abort instead.
  const failed = /^number of failed transactions: (\d+)/m.exec(stdout)?.[1] ?? '0';
  return { tps: Number(tps), transactions: Number(transactions), failed: Number(failed) };
}

/**
 * Appends the latency (µs) of every completed transaction in one `--log` file to `into`. A line is
 * `client_id transaction_no time script_no time_epoch time_us [schedule_lag] [retries]`; `time`
 * reads "failed" or "skipped" for transactions that have no latency.
 */
export function parsePgbenchLog(text: string, into: number[] = []): number[] {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const fields = text.slice(start, end).trim().split(/\s+/);
    start = end + 1;
    const latency = fields.length >= 6 ? Number(fields[2]) : NaN;
    if (Number.isFinite(latency)) into.push(latency);
  }
  return into;
}

/** p50 and p99 in milliseconds (nearest rank) of latencies in microseconds. */
export function latencyPercentiles(latenciesMicros: readonly number[]): { p50Ms: number; p99Ms: number } {
  if (latenciesMicros.length === 0) return { p50Ms: NaN, p99Ms: NaN };
  const sorted = Float64Array.from(latenciesMicros).sort();
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]! / 1000;
  return { p50Ms: at(0.5), p99Ms: at(0.99) };
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
