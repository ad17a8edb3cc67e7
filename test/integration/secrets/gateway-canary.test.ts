import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../helpers/external-program.js';
import { createCanaryRole, type CanaryRole } from '../../helpers/canary-role.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { runCli } from '../../helpers/run-cli.js';
import { startTapProxy, type TapProxy } from '../../helpers/tap-proxy.js';

const run = promisify(execFile);
const psql = findProgram('psql');

// The gateway logs in upstream as a role whose password is a unique canary, then every output
// a caller, an operator or an auditor can reach is searched for it.
let CANARY: string;
let canary: CanaryRole;

let db: TestDatabase;
let gateway: TestGateway;
let wrongPassword: TestGateway;
let clientTap: TapProxy;
const clientVisible: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  canary = await createCanaryRole(db, 'canary_role');
  CANARY = canary.password;
  gateway = await startTestGateway(db, { upstreamUser: canary.role, upstreamPassword: CANARY, tls: 'off' });
  wrongPassword = await startTestGateway(db, { upstreamUser: canary.role, upstreamPassword: `${CANARY}-wrong`, tls: 'off' });
  clientTap = await startTapProxy({ host: gateway.host, port: gateway.port });
});

afterAll(async () => {
  await clientTap?.close();
  await gateway?.close();
  await wrongPassword?.close();
  await canary?.drop();
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

describe('the upstream password canary through the gateway', () => {
  it('appears in no client-visible byte, log line, recording or CLI output', async () => {
    // A working session with errors and notices, through a wire tap so every byte the client got is kept.
    const client = await gateway.connect({ port: clientTap.port });
    await client.query('CREATE TABLE canary_t (id int PRIMARY KEY)');
    await client.query('INSERT INTO canary_t VALUES (1)');
    clientVisible.push(...(await Promise.all([
      client.query('INSERT INTO canary_t VALUES (1)').then(() => 'unexpected success', (error: Error) => JSON.stringify(error)),
      client.query("SELECT current_setting('password_encryption'), current_user").then((result) => JSON.stringify(result.rows)),
      client.query('DO $$ BEGIN RAISE NOTICE $n$hello$n$; END $$').then(() => 'notice ok'),
    ])));
    await client.end();

    // The refused login: the upstream rejects the gateway's (wrong) credential.
    const refused = new pg.Client(wrongPassword.clientConfig());
    const error = await refused.connect().then(() => undefined, (failure: Error & { code?: string }) => failure);
    expect(error?.code).toBe('08001');
    expect(error?.message).toMatch(/refused the gateway's credentials/);
    clientVisible.push(JSON.stringify(error), error?.message ?? '', error?.stack ?? '');

    if (psql) {
      const psqlRun = await run(psql, ['-X', '-c', 'SELECT 1', wrongPassword.url], { env: { ...process.env, PGPASSWORD: wrongPassword.token } }).catch(
        (failure: { stdout: string; stderr: string }) => failure,
      );
      clientVisible.push(psqlRun.stdout, psqlRun.stderr);
      expect(psqlRun.stderr).toContain("refused the gateway's credentials");
    }

    for (const target of [gateway, wrongPassword]) await target.engine.store.flush();
    const sessions = await runCli(['sessions', '--config', gateway.configFile], { env: {} });
    expect(sessions.code).toBe(0);
    const outputs = [
      ...clientVisible,
      ...clientTap.connections.flatMap((connection) => connection.fromServer.map((chunk) => chunk.toString('latin1'))),
      gateway.logs.join(''),
      wrongPassword.logs.join(''),
      sessions.stdout,
      sessions.stderr,
    ];
    for (const output of outputs) expect(output).not.toContain(CANARY);

    // The store and every file beside it (WAL, keys, certificates), byte for byte.
    for (const target of [gateway, wrongPassword]) {
      await target.engine.close();
      for (const file of await filesUnder(join(target.dir, 'data'))) {
        expect((await readFile(file)).includes(Buffer.from(CANARY)), file).toBe(false);
      }
    }
    expect(gateway.logs.join('')).toContain('session started');
    expect(wrongPassword.logs.join('')).toContain('upstream login failed');
  });
});
