import { inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { startTestGateway, type TestGateway, type TestGatewayOptions } from '../../helpers/gateway.js';

// A real gateway (PostgreSQL listener + engine API) serving the console built for this run.

export interface ConsoleGateway {
  readonly db: TestDatabase;
  readonly gateway: TestGateway;
  /** The console's URL (the api listener). */
  readonly url: string;
  close(): Promise<void>;
}

export async function startConsoleGateway(label: string, options: TestGatewayOptions = {}): Promise<ConsoleGateway> {
  const consoleDir = inject('consoleDir');
  const db = await createTestDatabase(label);
  const gateway = await startTestGateway(db, { ...options, api: true, tls: options.tls ?? 'off', consoleDir });
  const url = gateway.engine.api?.url;
  if (!url) throw new Error('the test gateway has no api listener');
  return {
    db,
    gateway,
    url,
    async close() {
      await gateway.close();
      await db.drop();
    },
  };
}
