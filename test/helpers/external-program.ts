import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Finds an external program (psql, pgbench, pgbouncer, chromium) on PATH, or via an env var
 * override like SLUICE_TEST_PSQL. Returns undefined and prints why when it is absent, so a
 * skipped test always says what to install; `.ci/run` installs them all.
 */
export function findProgram(name: string, extraPaths: readonly string[] = []): string | undefined {
  const override = process.env[`SLUICE_TEST_${name.toUpperCase().replace(/\W/g, '_')}`];
  const candidates = [
    ...(override ? [override] : []),
    ...(process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, name)),
    ...extraPaths,
  ];
  const found = candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
  if (!found) {
    process.stdout.write(`[skip] ${name} not found on PATH: tests that need it are skipped (apt-get install it, or run .ci/run)\n`);
  }
  return found;
}
