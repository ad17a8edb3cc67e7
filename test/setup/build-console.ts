import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The web console built from this checkout's renderer/ (not a possibly stale dist/console). */
    consoleDir: string;
  }
}

// Builds the web console once per run (a second or two) for the browser tests in test/e2e, from
// the source under test.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-console-'));
  const { build } = await import('vite');
  await build({ configFile: join(project.config.root, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: dir, emptyOutDir: true, sourcemap: false } });
  project.provide('consoleDir', dir);
  return async () => {
    await rm(dir, { recursive: true, force: true });
  };
}
