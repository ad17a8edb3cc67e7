// `npm run demo`: an embedded PostgreSQL, a demo sluice.yaml whose secrets live in files, and
// a caller token, all under ./.sluice-demo. Later issues put the gateway in front and extend
// this script to show their features.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../proxy/config/load-config.js';
import { Authenticator } from '../proxy/identity/authenticator.js';
import { createStaticToken, hashToken } from '../proxy/identity/static-tokens.js';
import { startEmbeddedPostgres } from '../tools/embedded-postgres.js';

const DEMO_DIR = resolve(process.env.SLUICE_DEMO_DIR ?? '.sluice-demo');
const PG_PORT = Number(process.env.SLUICE_DEMO_PG_PORT ?? 54329);

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
  const sha256 = hashToken(callerToken);

  process.stdout.write('Starting the embedded PostgreSQL 18 (first run initialises it)…\n');
  const postgres = await startEmbeddedPostgres({ dir: join(DEMO_DIR, 'postgres'), password: pgPassword, persistent: true, port: PG_PORT });

  const configFile = join(DEMO_DIR, 'sluice.yaml');
  await writeFile(
    configFile,
    [
      '# Written by `npm run demo`. Secrets are references: the password lives in ./pg-password.',
      'data_dir: ./data',
      'listen:',
      '  postgres: 127.0.0.1:6432',
      '  api: 127.0.0.1:7070',
      'identity:',
      '  tokens:',
      `    - { name: demo, sha256: "${sha256}", groups: [ci, approvers] }`,
      'resources:',
      '  - name: demo-db',
      '    type: postgres',
      `    upstream: postgres://${postgres.server.user}@127.0.0.1:${postgres.server.port}/postgres`,
      '    password: ${file:pg-password}',
      'policy:',
      '  - { name: ci-read, match: { groups: [ci], resources: [demo-db], kinds: [select] }, effect: allow }',
      '  - { name: ci-writes, match: { groups: [ci], resources: [demo-db], kinds: [insert, update, delete] }, effect: approve }',
      'masking:',
      '  - { name: emails, detect: email, strategy: partial }',
      '',
    ].join('\n'),
  );

  // Prove the pieces that exist today: the config loads with its secret, the token authenticates,
  // and the upstream answers with the gateway-held credential.
  const { config } = await loadConfig(configFile);
  const identity = await new Authenticator(config.identity).authenticate(callerToken);
  const resource = config.resources[0];
  if (resource?.type !== 'postgres' || !resource.password) throw new Error('demo config lost its resource');
  const client = new pg.Client({ ...postgres.server, database: 'postgres', password: resource.password.reveal() });
  await client.connect();
  const { rows } = await client.query<{ version: string }>('SELECT version()');
  await client.end();

  process.stdout.write(
    [
      '',
      `PostgreSQL is up: ${rows[0]?.version.split(',')[0] ?? 'unknown version'}`,
      `Config:  ${configFile}  (check it: npm run sluice -- check-config ${configFile})`,
      `Token:   ${callerToken}`,
      `         authenticates as "${identity.subject}" with groups [${identity.groups.join(', ')}]`,
      `         (try: SLUICE_TOKEN=${callerToken} npm run sluice -- whoami --config ${configFile})`,
      '',
      'The PostgreSQL gateway (psql through Sluice on 127.0.0.1:6432) lands with its own issue;',
      'until then the upstream is reachable directly for inspection:',
      `  psql "postgres://${postgres.server.user}@127.0.0.1:${postgres.server.port}/postgres"   # password in ${join(DEMO_DIR, 'pg-password')}`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  const stop = async () => {
    process.stdout.write('\nStopping PostgreSQL…\n');
    await postgres.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
  if (process.env.SLUICE_DEMO_EXIT_WHEN_READY) await stop();
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
