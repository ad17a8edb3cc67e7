import pg from 'pg';
import { canaryPassword } from './gateway.js';
import type { TestDatabase } from './postgres.js';

/**
 * A login role whose password is a unique canary, for a gateway to log in upstream as: every
 * output a test can reach is then searched for the password. `drop()` removes what the role owns,
 * the test database, then the role (a cluster-wide object).
 */
export interface CanaryRole {
  readonly role: string;
  readonly password: string;
  drop(): Promise<void>;
}

export async function createCanaryRole(db: TestDatabase, prefix: string): Promise<CanaryRole> {
  const role = `${prefix}_${process.pid}`;
  const password = canaryPassword();
  const admin = await db.connect();
  await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await admin.query(`GRANT ALL ON SCHEMA public TO ${role}`);
  await admin.query(`GRANT CONNECT ON DATABASE "${db.database}" TO ${role}`);
  return {
    role,
    password,
    async drop() {
      const owner = await db.connect();
      await owner.query(`DROP OWNED BY ${role}`).catch(() => undefined);
      await db.drop();
      const cleanup = new pg.Client({ host: db.host, port: db.port, user: db.user, password: db.password, database: 'postgres' });
      await cleanup.connect();
      await cleanup.query(`DROP ROLE IF EXISTS ${role}`);
      await cleanup.end();
    },
  };
}
