import { readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { latestPostgresVersion, refuseNewerStore } from '../../../proxy/audit/postgres/migrate.js';
import { POSTGRES_MIGRATIONS } from '../../../proxy/audit/postgres/migrations/index.js';
import { AuditSchemaError } from '../../../proxy/audit/sqlite/migrate.js';

// Applying them runs against a real server: test/integration/audit/postgres-store.test.ts.

describe('PostgreSQL audit store migrations', () => {
  it('are numbered 1, 2, 3, … in files named after their number', async () => {
    expect(POSTGRES_MIGRATIONS.map((migration) => migration.version)).toEqual(POSTGRES_MIGRATIONS.map((_, index) => index + 1));
    const files = (await readdir(resolve(import.meta.dirname, '../../../proxy/audit/postgres/migrations'))).filter((file) => /^\d{3}-/.test(file)).sort();
    expect(files).toEqual(POSTGRES_MIGRATIONS.map((migration) => `${String(migration.version).padStart(3, '0')}-${migration.name}.ts`));
  });

  it('refuse a store a newer build migrated, as the SQLite store does', () => {
    const known = latestPostgresVersion(POSTGRES_MIGRATIONS);
    expect(() => refuseNewerStore('db:5432/a', known, known)).not.toThrow();
    expect(() => refuseNewerStore('db:5432/a', known + 1, known)).toThrow(AuditSchemaError);
    expect(() => refuseNewerStore('db:5432/a', known + 1, known)).toThrow(`the audit store db:5432/a has schema version ${known + 1}, but this build of Sluice knows versions up to ${known}`);
  });
});
