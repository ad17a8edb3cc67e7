import { access, chmod, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { AuditSchemaError, AuditStoreMissingError } from '../store-errors.js';
import { latestVersion, migrate, refuseNewer, schemaVersion, type Migration } from './migrate.js';

export { AuditStoreMissingError };
import { MIGRATIONS } from './migrations/index.js';
import { SqliteConnection, sqliteCode } from './sqlite-connection.js';

// Opening `<data_dir>/audit.sqlite`: the writer (creates, migrates) and readers (another
// process, read-only, while the writer keeps writing: that is what WAL allows).

export const AUDIT_FILE_NAME = 'audit.sqlite';

/** How long a connection waits for another's lock (a checkpoint, a migration) before failing. */
const BUSY_TIMEOUT_MS = 5_000;

export function auditFile(dataDir: string): string {
  return join(dataDir, AUDIT_FILE_NAME);
}


/**
 * Creates the directory (0700) and the file (0600) when missing, refuses a store from a newer
 * build before touching it, then switches to WAL and applies the migrations it lacks.
 */
export async function openWriterConnection(
  dataDir: string,
  durability: 'strict' | 'batched',
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<SqliteConnection> {
  const file = auditFile(dataDir);
  try {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // Created here rather than by SQLite, whose mode would follow the umask (often 0644); the WAL
    // and shared-memory files SQLite adds later take the database file's mode.
    await (await open(file, 'a', 0o600)).close();
    await chmod(file, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new Error(`cannot create the audit store ${file} (${code}); check that data_dir is a directory this user may write`, { cause: error });
  }
  const db = await SqliteConnection.open(file, 'readwrite').catch((error: unknown) => {
    throw describeOpenError(file, error);
  });
  try {
    db.busyTimeout(BUSY_TIMEOUT_MS);
    refuseNewer(file, await schemaVersion(db).catch((error: unknown) => Promise.reject(describeOpenError(file, error))), migrations);
    const mode = await switchToWal(db);
    if (mode?.journal_mode !== 'wal') {
      throw new Error(`the audit store ${file} cannot use write-ahead logging (journal mode ${mode?.journal_mode ?? 'unknown'}); put data_dir on a local disk`);
    }
    // WAL + NORMAL: a commit survives a crash of the process; only power loss may lose the
    // last commits, never corrupt the file. strict also syncs every commit to disk.
    await db.run(`PRAGMA synchronous = ${durability === 'strict' ? 'FULL' : 'NORMAL'}`);
    await db.run('PRAGMA foreign_keys = ON');
    await migrate(db, migrations);
    return db;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

/**
 * `PRAGMA journal_mode = WAL`. Two processes creating a fresh store at once can both hold a read
 * lock while each asks for the exclusive one the switch needs; SQLite then answers SQLITE_BUSY at
 * once instead of waiting (waiting would deadlock), so the switch is tried again after a pause.
 */
async function switchToWal(db: SqliteConnection): Promise<{ journal_mode: string } | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.get<{ journal_mode: string }>('PRAGMA journal_mode = WAL');
    } catch (error) {
      if (attempt >= 20 || !String((error as Error).message).includes('SQLITE_BUSY')) throw error;
      await new Promise((resolve) => setTimeout(resolve, 5 * attempt));
    }
  }
}

/** Opens an existing store read-only; refuses one of another schema version with what to do. */
export async function openReaderConnection(file: string, migrations: readonly Migration[] = MIGRATIONS): Promise<SqliteConnection> {
  try {
    await access(file);
  } catch {
    throw new AuditStoreMissingError(file);
  }
  const db = await SqliteConnection.open(file, 'readonly').catch((error: unknown) => {
    throw describeOpenError(file, error);
  });
  try {
    db.busyTimeout(BUSY_TIMEOUT_MS);
    const version = await schemaVersion(db).catch((error: unknown) => Promise.reject(describeOpenError(file, error)));
    refuseNewer(file, version, migrations);
    const known = latestVersion(migrations);
    if (version < known) {
      throw new AuditSchemaError(
        `the audit store ${file} has schema version ${version}, older than this build's ${known}; ` +
          'start `sluice serve` with this config once to upgrade it, then read it again',
        file,
        version,
        known,
      );
    }
    return db;
  } catch (error) {
    await db.close().catch(() => undefined);
    throw error;
  }
}

function describeOpenError(file: string, error: unknown): Error {
  const code = sqliteCode(error);
  if (code === 'SQLITE_NOTADB') return new Error(`${file} is not an SQLite database; move it away or point data_dir at another directory`, { cause: error });
  if (code === 'SQLITE_CANTOPEN') return new Error(`the audit store ${file} cannot be opened (check its permissions and its directory's)`, { cause: error });
  return new Error(`the audit store ${file} cannot be opened: ${(error as Error).message}`, { cause: error });
}
