import type pg from 'pg';
import { AuditSchemaError, AuditStoreMissingError } from '../store-errors.js';
import { POSTGRES_MIGRATIONS } from './migrations/index.js';

// The shared store's schema, versioned like the SQLite store's: numbered migrations, all those
// missing applied in one transaction, and a store newer than this build refused. Gateways often
// start together (a deploy rolls out several at once), so the transaction first takes an
// advisory lock every Sluice build agrees on: the second gateway waits, then finds nothing to do.

/** One schema step; `version` is recorded in sluice.audit_migrations once applied. */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  up(client: pg.ClientBase): Promise<void>;
}

/** pg_advisory_xact_lock's key for migrations: the bytes "sluice" 00 01 as a 64-bit integer. Never change it. */
export const MIGRATION_LOCK_KEY = '8317151707346042881';

/**
 * Something outside Sluice's locks creating the schema at the same moment makes CREATE SCHEMA fail
 * (a unique violation, or "already exists"); the next attempt finds it. (The approval store takes
 * MIGRATION_LOCK_KEY before creating the schema, so it never races this.)
 */
const CONCURRENT_CREATE = new Set(['23505', '42P06', '42P07']);

/** Applies the migrations the store lacks; returns the versions applied (none when it is current). */
export async function migratePostgres(client: pg.ClientBase, location: string, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<number[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(client, location, migrations);
    } catch (error) {
      const code = ((error as Error).cause as { code?: unknown } | undefined)?.code;
      if (attempt < 3 && typeof code === 'string' && CONCURRENT_CREATE.has(code)) continue;
      throw error;
    }
  }
}

async function migrateOnce(client: pg.ClientBase, location: string, migrations: readonly PostgresMigration[]): Promise<number[]> {
  const known = latestPostgresVersion(migrations);
  // Most opens find the store current: no lock and no DDL then, so a gateway whose role may not
  // create tables can still open a store an administrator prepared.
  const found = await storedVersion(client);
  refuseNewerStore(location, found ?? 0, known);
  if (found === known) return [];
  await client.query('BEGIN');
  let step: PostgresMigration | undefined;
  try {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    // Read again under the lock: another gateway may have migrated meanwhile.
    let version = await storedVersion(client);
    if (version === undefined) {
      // Only when missing: CREATE SCHEMA IF NOT EXISTS would still need CREATE on the database.
      if (!(await exists(client, "SELECT 1 FROM pg_namespace WHERE nspname = 'sluice'"))) await client.query('CREATE SCHEMA sluice');
      await client.query('CREATE TABLE sluice.audit_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())');
      version = 0;
    }
    refuseNewerStore(location, version, known);
    const applied: number[] = [];
    for (step of migrations) {
      if (step.version <= version) continue;
      await step.up(client);
      await client.query('INSERT INTO sluice.audit_migrations (version, name) VALUES ($1, $2)', [step.version, step.name]);
      applied.push(step.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    if (error instanceof AuditSchemaError) throw error;
    const what = step ? `upgraded to version ${step.version} (${step.name})` : 'prepared';
    throw new Error(`the audit store ${location} could not be ${what}: ${(error as Error).message}; nothing was changed`, { cause: error });
  }
}

/** For readers: the store must exist and be at exactly this build's version. */
export async function checkReadableVersion(client: pg.ClientBase, location: string, migrations: readonly PostgresMigration[] = POSTGRES_MIGRATIONS): Promise<void> {
  const version = await storedVersion(client);
  if (version === undefined) throw new AuditStoreMissingError(location);
  const known = latestPostgresVersion(migrations);
  refuseNewerStore(location, version, known);
  if (version < known) {
    throw new AuditSchemaError(
      `the audit store ${location} has schema version ${version}, older than this build's ${known}; start a gateway of this build on it once to upgrade it, then read it again`,
      location,
      version,
      known,
    );
  }
}

/** Refuses a store from a newer build: its schema may mean things this build would get wrong. */
export function refuseNewerStore(location: string, version: number, known: number): void {
  if (version > known) {
    throw new AuditSchemaError(
      `the audit store ${location} has schema version ${version}, but this build of Sluice knows versions up to ${known}: ` +
        'it was written by a newer Sluice; run that version on every gateway sharing it (or point audit at another database)',
      location,
      version,
      known,
    );
  }
}

export function latestPostgresVersion(migrations: readonly PostgresMigration[]): number {
  return migrations.reduce((max, migration) => Math.max(max, migration.version), 0);
}

/** The last version applied; undefined when the store was never created here. */
async function storedVersion(client: pg.ClientBase): Promise<number | undefined> {
  // The catalog itself, not to_regclass: after waiting on the advisory lock, this backend's
  // catalog cache may still say "no such schema" (an advisory lock brings no invalidations),
  // while a query reads what the other gateway committed.
  const table = "SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'sluice' AND c.relname = 'audit_migrations'";
  if (!(await exists(client, table))) return undefined;
  const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM sluice.audit_migrations');
  return rows[0]?.version ?? 0;
}

async function exists(client: pg.ClientBase, sql: string): Promise<boolean> {
  return ((await client.query(sql)).rowCount ?? 0) > 0;
}
