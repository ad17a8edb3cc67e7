import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../helpers/external-program.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { splitBackendMessages, startTapProxy, type TapConnection, type TapProxy } from '../../helpers/tap-proxy.js';

const run = promisify(execFile);
const psql = findProgram('psql');

// Messages the gateway writes itself: authentication and the cancel key. Everything else the
// client receives must be the upstream's bytes, unchanged and in order.
const GATEWAY_WRITTEN = new Set(['R', 'K']);

let db: TestDatabase;
let upstreamTap: TapProxy;
let clientTap: TapProxy;
let gateway: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  const admin = await db.connect();
  await admin.query('CREATE TABLE t (id int, label text, payload bytea, at timestamptz DEFAULT now())');
  await admin.query("INSERT INTO t SELECT i, repeat('x', i % 50), decode(md5(i::text), 'hex') FROM generate_series(1, 2000) i");
  upstreamTap = await startTapProxy({ host: db.host, port: db.port });
  gateway = await startTestGateway(db, { upstream: { host: '127.0.0.1', port: upstreamTap.port }, tls: 'off' });
  clientTap = await startTapProxy({ host: gateway.host, port: gateway.port });
});

afterAll(async () => {
  await clientTap?.close();
  await gateway?.close();
  await upstreamTap?.close();
  await db?.drop();
});

function relayedMessages(connection: TapConnection): string[] {
  return splitBackendMessages(connection.fromServer)
    .filter((message) => !GATEWAY_WRITTEN.has(String.fromCharCode(message[0]!)))
    .map((message) => message.toString('hex'));
}

async function expectIdenticalServerBytes(session: () => Promise<void>): Promise<void> {
  const before = { client: clientTap.connections.length, upstream: upstreamTap.connections.length };
  await session();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const clientSide = clientTap.connections.slice(before.client);
  const upstreamSide = upstreamTap.connections.slice(before.upstream);
  expect(clientSide).toHaveLength(1);
  expect(upstreamSide).toHaveLength(1);
  const received = relayedMessages(clientSide[0]!);
  const sent = relayedMessages(upstreamSide[0]!);
  expect(received.length).toBeGreaterThan(20);
  // Compare as lists so a failure shows the first differing message.
  expect(received).toEqual(sent);
}

describe('the gateway is a relay, not a pipe with a login in front', () => {
  it.skipIf(!psql)('gives psql the upstream\'s exact server bytes', async () => {
    await expectIdenticalServerBytes(async () => {
      const env = { ...process.env, PGPASSWORD: gateway.token, PGSSLMODE: 'disable' };
      const url = `postgres://ci@127.0.0.1:${clientTap.port}/${gateway.resource}`;
      const script = ['SELECT * FROM t ORDER BY id;', 'SELECT 1/0;', '\\d t', "SET search_path TO public, pg_catalog;", 'SELECT count(*) FROM t;', ''].join('\n');
      const file = join(gateway.dir, 'fidelity.sql');
      await writeFile(file, script);
      await run(psql!, ['-X', '-f', file, url], { env });
    });
  });

  it('gives node-postgres the upstream\'s exact server bytes', async () => {
    await expectIdenticalServerBytes(async () => {
      const client = await gateway.connect({ host: '127.0.0.1', port: clientTap.port });
      await client.query('SELECT * FROM t WHERE id < $1 ORDER BY id', [1500]);
      await client.query({ name: 'by-label', text: 'SELECT id, payload FROM t WHERE label = $1', values: ['xxxx'] });
      await client.query({ name: 'by-label', text: 'SELECT id, payload FROM t WHERE label = $1', values: ['xxxxx'] });
      await client.query('SELECT nonexistent FROM t').catch(() => undefined);
      await client.query("SELECT pg_notify('chan', 'payload')");
      await client.end();
    });
  });
});
