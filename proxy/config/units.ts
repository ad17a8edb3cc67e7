// Human units in config: durations ("10m", "90d", "500ms") and sizes ("50MB", "1GiB").

const DURATION_UNITS_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const SIZE_UNITS: Readonly<Record<string, number>> = {
  b: 1,
  kb: 1_000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1_024,
  mib: 1_048_576,
  gib: 1_073_741_824,
};

/** Parses "90s", "10m", "1.5h", "90d" or a bare number of seconds into milliseconds. */
export function parseDuration(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input * 1_000 : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/i.exec(input);
  if (!match) return undefined;
  const unit = DURATION_UNITS_MS[match[2]!.toLowerCase()]!;
  return Math.round(Number(match[1]) * unit);
}

/** Milliseconds in the largest unit that divides them exactly: 600000 -> "10m", 1500 -> "1500ms". */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** Parses "50MB", "1GiB", "512kb" or a bare number of bytes. */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input >= 0 ? input : undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$/i.exec(input);
  if (!match) return undefined;
  const unit = SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]!;
  return Math.round(Number(match[1]) * unit);
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parses "127.0.0.1:6432", "[::1]:6432" or "localhost:0" (port 0 = any free port). */
export function parseHostPort(input: string): HostPort | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(input.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}
