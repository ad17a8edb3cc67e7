import type pg from 'pg';
import { MIGRATION_LOCK_KEY as AUDIT_MIGRATION_LOCK } from '../../audit/postgres/migrate.js';

/** One schema step of the shared approval queue, recorded in `sluice.approval_migrations`. */
export interface ApprovalMigration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The advisory lock every gateway takes to migrate the approval tables: "sluice" + 0x0002.
 * Distinct from the audit store's lock, so the two stores migrate independently; each keeps its
 * own migrations table in the shared `sluice` schema.
 */
export const APPROVAL_MIGRATION_LOCK = '8317151707346042882';

/** The database was migrated by a newer Sluice. */
export class ApprovalSchemaError extends Error {
  constructor(
    message: string,
    readonly databaseVersion: number,
    readonly knownVersion: number,
  ) {
    super(message);
    this.name = 'ApprovalSchemaError';
  }
}

// Another creator of the `sluice` schema racing this one makes CREATE SCHEMA fail with a unique
// violation (or "already exists"); the retry then finds it.
const CONCURRENT_CREATE = new Set(['23505', '42P06', '42P07']);

/**
 * Brings the approval tables to the newest version, all missing steps in one transaction under
 * the advisory lock: gateways starting together apply each step once, and a failure leaves the
 * schema as it was. Returns the versions applied (none when current).
 */
export async function migrateApprovals(client: pg.ClientBase, migrations: readonly ApprovalMigration[]): Promise<number[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await migrateOnce(client, migrations);
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (error instanceof ApprovalSchemaError) throw error;
      const code = (error as { code?: unknown }).code;
      if (attempt < 3 && typeof code === 'string' && CONCURRENT_CREATE.has(code)) continue;
      throw new Error(`could not create or upgrade the approval tables (schema sluice): ${(error as Error).message}`, { cause: error });
    }
  }
}

async function migrateOnce(client: pg.ClientBase, migrations: readonly ApprovalMigration[]): Promise<number[]> {
  const known = migrations.reduce((max, migration) => Math.max(max, migration.version), 0);
  // Most opens find the tables current: no lock and no DDL then, so a gateway whose role may not
  // create tables can still use tables an administrator prepared.
  const found = await storedVersion(client);
  refuseNewer(found ?? 0, known);
  if (found === known) return [];
  await client.query('BEGIN');
  await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [APPROVAL_MIGRATION_LOCK]);
  // Read again under the lock: another gateway may have migrated meanwhile.
  let current = await storedVersion(client);
  if (current === undefined) {
    // The audit store creates the same schema under its own lock: its lock too, so the two never
    // create it at once (the loser would fail on pg_namespace's unique index). It never takes
    // ours, so there is no lock cycle. Only when missing: CREATE SCHEMA IF NOT EXISTS would still
    // need CREATE on the database.
    if (!(await exists(client, SCHEMA))) {
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [AUDIT_MIGRATION_LOCK]);
      if (!(await exists(client, SCHEMA))) await client.query('CREATE SCHEMA sluice');
    }
    await client.query(`CREATE TABLE sluice.approval_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    current = 0;
  }
  refuseNewer(current, known);
  const applied: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (migration.version <= current) continue;
    await client.query(migration.sql);
    await client.query('INSERT INTO sluice.approval_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
    applied.push(migration.version);
  }
  await client.query('COMMIT');
  return applied;
}

function refuseNewer(current: number, known: number): void {
  if (current <= known) return;
  throw new ApprovalSchemaError(
    `the shared approval tables have schema version ${current}, but this build of Sluice knows versions up to ${known}: ` +
      'a newer Sluice gateway migrated them; upgrade this gateway to the same version',
    current,
    known,
  );
}

/** The last version applied; undefined when the tables were never created here. */
async function storedVersion(client: pg.ClientBase): Promise<number | undefined> {
  // The catalog itself, not to_regclass: after waiting on the advisory lock, this backend's
  // catalog cache may not show what the other gateway committed, while a query does.
  const table =
    "SELECT 1 FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace WHERE n.nspname = 'sluice' AND c.relname = 'approval_migrations'";
  if (!(await exists(client, table))) return undefined;
  const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM sluice.approval_migrations');
  return rows[0]?.version ?? 0;
}

const SCHEMA = "SELECT 1 FROM pg_namespace WHERE nspname = 'sluice'";

async function exists(client: pg.ClientBase, sql: string): Promise<boolean> {
  return ((await client.query(sql)).rowCount ?? 0) > 0;
}
