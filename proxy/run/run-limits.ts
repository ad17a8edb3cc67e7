// How long a `sluice run` and its session credential may last (engine API input checks and the run service).

/** Unless the caller asks for less (--max-duration). */
export const DEFAULT_RUN_TTL_MS = 6 * 3_600_000;
export const MAX_RUN_TTL_MS = 24 * 3_600_000;
