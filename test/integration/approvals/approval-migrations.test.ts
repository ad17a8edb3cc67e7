import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrateApprovals } from '../../../proxy/approvals/postgres/approval-migrate.js';
import { APPROVAL_MIGRATIONS } from '../../../proxy/approvals/postgres/migrations/index.js';
import { migratePostgres } from '../../../proxy/audit/postgres/migrate.js';
import { createTestDatabase } from '../../helpers/postgres.js';

describe('approval tables migrations', () => {
  it('create the sluice schema alongside the audit store’s migrations, each applied once', async () => {
    // A gateway's first start on an empty database: both stores create the shared schema at once,
    // each under its own advisory lock, and several gateways may start together.
    for (let round = 0; round < 4; round++) {
      const db = await createTestDatabase(`approval-migrations-${round}`);
      const clients = await Promise.all([db.connect(), db.connect(), db.connect()]);
      const [first, audit, second] = clients as [pg.Client, pg.Client, pg.Client];
      const steps =
        round % 2 === 0
          ? [migrateApprovals(first, APPROVAL_MIGRATIONS), migratePostgres(audit, db.database), migrateApprovals(second, APPROVAL_MIGRATIONS)]
          : [migratePostgres(audit, db.database), migrateApprovals(first, APPROVAL_MIGRATIONS), migrateApprovals(second, APPROVAL_MIGRATIONS)];
      const results = await Promise.allSettled(steps);
      expect(results.map((result) => (result.status === 'fulfilled' ? 'ok' : (result.reason as Error).message))).toEqual(['ok', 'ok', 'ok']);
      const applied = (await first.query<{ version: number }>('SELECT version FROM sluice.approval_migrations')).rows.map((row) => row.version);
      expect(applied).toEqual([1]);
      expect(await migrateApprovals(first, APPROVAL_MIGRATIONS)).toEqual([]);
      await db.drop();
    }
  });
});
