// `npm run demo`: an embedded PostgreSQL with a sample shop schema, a demo sluice.yaml whose
// secrets live in files, a caller token, and the gateway in front, all under ./.sluice-demo.
// Later issues extend this script to show their features.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../proxy/config/load-config.js';
import { startEngine } from '../proxy/engine/engine.js';
import { createLogger } from '../proxy/engine/logger.js';
import { Authenticator } from '../proxy/identity/authenticator.js';
import { createStaticToken, hashToken } from '../proxy/identity/static-tokens.js';
import { startEmbeddedPostgres } from '../tools/embedded-postgres.js';
import { loadSampleSchema } from './demo-data.js';

const DEMO_DIR = resolve(process.env.SLUICE_DEMO_DIR ?? '.sluice-demo');
const PG_PORT = Number(process.env.SLUICE_DEMO_PG_PORT ?? 54329);
const GATEWAY_PORT = Number(process.env.SLUICE_DEMO_GATEWAY_PORT ?? 6432);
const API_PORT = Number(process.env.SLUICE_DEMO_API_PORT ?? 7070);
const DEMO_DATABASE = 'shop';

async function readOrCreate(file: string, make: () => string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const value = make();
  await writeFile(file, `${value}\n`, { mode: 0o600 });
  return value;
}

async function main(): Promise<void> {
  // 0711: others may not list it, but the `postgres` user embedded-postgres runs as (when we are
  // root) must pass through to its data directory. The secret files inside are 0600.
  await mkdir(DEMO_DIR, { recursive: true });
  await chmod(DEMO_DIR, 0o711);
  const pgPassword = await readOrCreate(join(DEMO_DIR, 'pg-password'), () => randomBytes(18).toString('base64url'));
  const callerToken = await readOrCreate(join(DEMO_DIR, 'demo-token'), () => createStaticToken().token);
  const approverToken = await readOrCreate(join(DEMO_DIR, 'approver-token'), () => createStaticToken().token);

  process.stdout.write('Starting the embedded PostgreSQL 18 (first run initialises it)…\n');
  const postgres = await startEmbeddedPostgres({ dir: join(DEMO_DIR, 'postgres'), password: pgPassword, persistent: true, port: PG_PORT });

  const configFile = join(DEMO_DIR, 'sluice.yaml');
  await writeFile(
    configFile,
    [
      '# Written by `npm run demo`. Secrets are references: the password lives in ./pg-password.',
      'data_dir: ./data',
      'listen:',
      `  postgres: 127.0.0.1:${GATEWAY_PORT}`,
      `  api: 127.0.0.1:${API_PORT}`,
      'identity:',
      '  tokens:',
      `    - { name: demo, sha256: "${hashToken(callerToken)}", groups: [ci] }`,
      `    - { name: approver, sha256: "${hashToken(approverToken)}", groups: [approvers, admins] }`,
      'resources:',
      '  - name: demo-db',
      '    type: postgres',
      `    upstream: postgres://${postgres.server.user}@127.0.0.1:${postgres.server.port}/${DEMO_DATABASE}`,
      '    password: ${file:pg-password}',
      'policy:',
      '  # CI reads freely; every write waits for a human (approve for the session: up to 15 minutes).',
      '  - { name: ci-read, match: { groups: [ci], resources: [demo-db], kinds: [select, set, transaction, explain] }, effect: allow }',
      '  - { name: ci-writes, match: { groups: [ci], resources: [demo-db], kinds: [insert, update, delete, merge, copy_in] }, effect: approve, session_grant: 15m }',
      '  - { name: ci-no-ddl, match: { groups: [ci], kinds: [ddl, truncate, grant] }, effect: deny, reason: "CI jobs may not change the schema" }',
      'masking:',
      '  # Source columns, whatever a query calls them: emails keep their domain, cards their last 4 digits,',
      '  # SSNs become a keyed hash (equal SSNs still join); detectors catch the same data in free text.',
      '  - { name: emails, columns: [public.customers.email], strategy: partial }',
      '  - { name: cards, columns: [public.customers.card_number], strategy: partial, keep_last: 4 }',
      '  - { name: ssn, columns: [public.customers.ssn], strategy: hash }',
      '  - { name: pii-in-text, detect: [email, phone, card, ssn], strategy: redact }',
      '',
    ].join('\n'),
  );

  const admin = new pg.Client({ ...postgres.server, database: 'postgres' });
  await admin.connect();
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DEMO_DATABASE]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DEMO_DATABASE}`);
  const { rows } = await admin.query<{ version: string }>('SELECT version()');
  await admin.end();
  const shop = new pg.Client({ ...postgres.server, database: DEMO_DATABASE });
  await shop.connect();
  const counts = await loadSampleSchema(shop);
  await shop.end();

  const { config } = await loadConfig(configFile);
  const identity = await new Authenticator(config.identity).authenticate(callerToken);
  const log = createLogger((line) => process.stderr.write(line));
  const engine = await startEngine(config, { log });
  const gateway = `127.0.0.1:${engine.postgres?.port ?? GATEWAY_PORT}`;
  const sluice = `npm run --silent sluice --`;
  const url = `postgres://demo@${gateway}/demo-db?sslmode=require`;

  // Handlers first: a Ctrl-C or SIGTERM right after the ready lines must stop things cleanly.
  const stop = async () => {
    process.stdout.write('\nStopping the gateway and PostgreSQL…\n');
    await engine.close();
    await postgres.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  process.stdout.write(
    [
      '',
      `PostgreSQL is up: ${rows[0]?.version.split(',')[0] ?? 'unknown version'}`,
      `  sample shop: ${counts.customers} customers (names, emails, phones, cards, SSNs, notes), ${counts.orders} orders`,
      `Sluice is in front of it on ${gateway} (resource "demo-db"), recording to ${engine.store.file}`,
      `Config:  ${configFile}  (check it: npm run sluice -- check-config ${configFile})`,
      `CI token:       ${callerToken}`,
      `                authenticates as "${identity.subject}" with groups [${identity.groups.join(', ')}]`,
      `Approver token: ${approverToken}  (groups approvers, admins; engine API on ${engine.api?.url ?? 'the api listener'})`,
      '',
      `Web console:    ${engine.api ? `${engine.api.url}/` : 'not served (no listen.api)'}  (sign in with the approver token: approvals inbox, sessions and replays, masking rules, policy)`,
      ...(engine.api?.tls.fingerprint256 ? [`                its certificate is self-signed: your browser warns once; its SHA-256 fingerprint is ${engine.api.tls.fingerprint256}`] : []),
      '',
      'Connect through Sluice (the token is the password; the database password stays with Sluice):',
      `  PGPASSWORD=${callerToken} psql "${url}" -c 'SELECT full_name, email AS contact, card_number, ssn, notes FROM customers ORDER BY id LIMIT 5'`,
      '  (emails, cards and SSNs come back masked by their source column, even renamed; notes by the detectors)',
      `  DATABASE_URL=postgres://demo:${callerToken}@${gateway}/demo-db?sslmode=require`,
      'Writes wait for approval (psql shows "waiting for approval <id>"). Approve as the approver:',
      `  PGPASSWORD=${callerToken} psql "${url}" -c "UPDATE orders SET status = 'refunded' WHERE id = 1"`,
      `  SLUICE_TOKEN=${approverToken} ${sluice} approvals --config ${configFile}`,
      `  SLUICE_TOKEN=${approverToken} ${sluice} approve <id> --config ${configFile}     (or: deny <id> --reason "…")`,
      'Ask what policy would do, without a database:',
      `  ${sluice} policy explain --config ${configFile} --identity subject=ci-job,groups=ci --resource demo-db --sql "DELETE FROM orders"`,
      'Then see what was recorded:',
      `  ${sluice} sessions --config ${configFile}`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  if (process.env.SLUICE_DEMO_EXIT_WHEN_READY) await stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
