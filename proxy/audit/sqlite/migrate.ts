import type { SqliteConnection } from './sqlite-connection.js';
import { AuditSchemaError } from '../store-errors.js';

export { AuditSchemaError };

/** One schema step. `version` is the `PRAGMA user_version` the store has once it is applied. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: SqliteConnection): Promise<void>;
}

export async function schemaVersion(db: SqliteConnection): Promise<number> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  return row?.user_version ?? 0;
}

/** Refuses a store from a newer build: its schema may mean things this build would get wrong. */
export function refuseNewer(file: string, version: number, migrations: readonly Migration[]): void {
  const known = latestVersion(migrations);
  if (version > known) {
    throw new AuditSchemaError(
      `the audit store ${file} has schema version ${version}, but this build of Sluice knows versions up to ${known}: ` +
        'it was written by a newer Sluice; run that version (or point data_dir at another directory)',
      file,
      version,
      known,
    );
  }
}

/**
 * Applies the migrations the store lacks, each in its own transaction together with its
 * `user_version`, so a crash leaves the store at one version or the next, never between.
 * Returns the versions applied.
 */
export async function migrate(db: SqliteConnection, migrations: readonly Migration[]): Promise<number[]> {
  refuseNewer(db.file, await schemaVersion(db), migrations);
  const applied: number[] = [];
  for (const migration of migrations) {
    // IMMEDIATE takes the write lock first; the version is read again under it, so two
    // processes opening a fresh store at once apply each step once.
    await db.run('BEGIN IMMEDIATE');
    try {
      if ((await schemaVersion(db)) >= migration.version) {
        await db.run('ROLLBACK');
        continue;
      }
      await migration.up(db);
      // PRAGMA takes no parameters; the version is an integer from our own list.
      await db.run(`PRAGMA user_version = ${Math.trunc(migration.version)}`);
      await db.run('COMMIT');
    } catch (error) {
      await db.run('ROLLBACK').catch(() => undefined);
      throw new Error(`the audit store ${db.file} could not be upgraded to version ${migration.version} (${migration.name}): ${(error as Error).message}`, {
        cause: error,
      });
    }
    applied.push(migration.version);
  }
  return applied;
}

export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.reduce((max, migration) => Math.max(max, migration.version), 0);
}
