import { connect } from 'node:net';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteConnection } from '../../../proxy/audit/sqlite/sqlite-connection.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { eventually } from '../../helpers/eventually.js';
import { rawLogin, readUntilClose } from '../../helpers/raw-client.js';
import { startTapProxy, type TapProxy } from '../../helpers/tap-proxy.js';

let db: TestDatabase;
let gateway: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  gateway = await startTestGateway(db, { tls: 'off' });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

type PgError = Error & { code?: string; hint?: string };

async function connectError(config: pg.ClientConfig): Promise<PgError> {
  const client = new pg.Client(config);
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    return error as PgError;
  }
  await client.end();
  throw new Error('the connection was expected to be refused');
}

/** Sends raw bytes after a real login and returns what the gateway answered before closing. */
async function afterLogin(bytes: Buffer): Promise<string> {
  const socket = await rawLogin({ host: gateway.host, port: gateway.port, database: gateway.resource, token: gateway.token });
  const answer = readUntilClose(socket);
  socket.write(bytes);
  return (await answer).toString('latin1');
}

describe('what callers see when something is wrong', () => {
  it('refuses a wrong token with 28P01 and a reason that does not echo it', async () => {
    const error = await connectError(gateway.clientConfig({ password: 'sluice_nottherighttoken_123456789' }));
    expect(error.code).toBe('28P01');
    expect(error.message).toMatch(/token not recognised/);
    expect(error.message).not.toContain('nottherighttoken');
  });

  it('answers an unknown resource with 3D000 naming the resources the caller may use', async () => {
    const error = await connectError(gateway.clientConfig({ database: 'no-such-db' }));
    expect(error.code).toBe('3D000');
    expect(error.message).toContain('"no-such-db"');
    expect(error.hint).toBe('your resources: testdb');
  });

  it('does not reveal a resource to a caller with no rule for it', async () => {
    const error = await connectError(gateway.clientConfig({ password: gateway.outsiderToken }));
    expect(error.code).toBe('3D000');
    expect(error.hint).toMatch(/no PostgreSQL resource is open to you/);
    expect(`${error.message} ${error.hint}`).not.toContain('other-db');
  });

  it('ends a session that sends an unknown message type with 08P01, and keeps serving others', async () => {
    const answer = await afterLogin(Buffer.from([0x01, 0, 0, 0, 4]));
    expect(answer).toContain('08P01');
    expect(answer).toContain("unexpected 0x01 message from the client");
    const client = await gateway.connect();
    expect((await client.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    await client.end();
  });

  it('refuses a message over the size cap with 54000 instead of buffering it', async () => {
    const header = Buffer.alloc(5);
    header[0] = 0x51;
    header.writeInt32BE(512 * 1024 * 1024, 1);
    const answer = await afterLogin(header);
    expect(answer).toContain('54000');
    expect(answer).toMatch(/exceeds the \d+-byte limit/);
  });

  it('caps what a client can send before it has logged in', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect({ host: gateway.host, port: gateway.port });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        // Asked for a password: declare a 1 MB one, which no token or JWT needs.
        if (chunks.length === 1) socket.write(Buffer.from([0x70, 0, 0x10, 0, 0]));
      });
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      socket.write(serialize.startup({ user: 'ci', database: gateway.resource }));
    });
    expect(answer).toContain('54000');
    expect(answer).toMatch(/exceeds the 65536-byte limit/);
  });

  it('records a statement whose client went away as aborted, and cancels it upstream', async () => {
    const client = await gateway.connect({ application_name: 'walks-away' });
    client.on('error', () => {});
    void client.query('SELECT pg_sleep(20)').catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 200));
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await eventually(async () => {
      await gateway.engine.store.flush();
      const sessions = await gateway.engine.store.listSessions({ limit: 20 });
      const session = sessions.find((candidate) => candidate.application === 'walks-away');
      expect(session?.status).toBe('closed');
      const events = await gateway.engine.store.listEvents(session!.id);
      expect(events.find((event) => event.kind === 'query')?.payload).toMatchObject({ text: 'SELECT pg_sleep(20)', outcome: 'aborted' });
    });
    // The upstream backend was cancelled, not left sleeping.
    const admin = await db.connect();
    await eventually(async () => {
      const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(20)' AND state = 'active'");
      expect(rows[0].n).toBe(0);
    });
  });

  it('refuses an oversized startup packet', async () => {
    const answer = await new Promise<string>((resolve) => {
      const socket = connect({ host: gateway.host, port: gateway.port });
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
      const packet = Buffer.alloc(20_000);
      packet.writeInt32BE(20_000, 0);
      packet.writeInt32BE(196608, 4);
      socket.write(packet);
    });
    expect(answer).toContain('08P01');
    expect(answer).toContain('invalid startup packet length 20000');
  });

  it('reports an unreachable upstream with 08001 naming the resource', async () => {
    const down = await startTestGateway(db, { tls: 'off', upstream: { host: '127.0.0.1', port: 1 } });
    try {
      const error = await connectError(down.clientConfig());
      expect(error.code).toBe('08001');
      expect(error.message).toMatch(/cannot reach the upstream of resource "testdb" at 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
      // The caller was known, so the refusal is in the audit trail too.
      await down.engine.store.flush();
      const [session] = await down.engine.store.listSessions({ limit: 1 });
      expect(session).toMatchObject({ status: 'aborted', identity: { subject: 'ci-job' }, counters: { errors: 1 } });
      const events = await down.engine.store.listEvents(session!.id);
      expect(events.map((event) => event.kind)).toEqual(['connect', 'error', 'disconnect']);
    } finally {
      await down.close();
    }
  });

  it('ends the session with 08006 when the upstream dies mid-query, and records it aborted', async () => {
    const tap: TapProxy = await startTapProxy({ host: db.host, port: db.port });
    const flaky = await startTestGateway(db, { tls: 'off', upstream: { host: '127.0.0.1', port: tap.port } });
    try {
      const client = await flaky.connect();
      const errors: PgError[] = [];
      client.on('error', (error: PgError) => errors.push(error));
      const query = client.query('SELECT pg_sleep(10)').catch((error: PgError) => error);
      await new Promise((resolve) => setTimeout(resolve, 200));
      tap.killAll();
      const error = (await query) as PgError;
      expect(error.message).toMatch(/upstream connection of resource "testdb" was lost|Connection terminated/);
      await flaky.engine.store.flush();
      await new Promise((resolve) => setTimeout(resolve, 100));
      const [session] = await flaky.engine.store.listSessions({ limit: 1 });
      expect(session?.status).toBe('aborted');
      const events = await flaky.engine.store.listEvents(session!.id);
      expect(events.map((event) => event.kind)).toContain('error');
      // The gateway still serves new sessions once the upstream is back.
      const again = await flaky.connect();
      expect((await again.query('SELECT 2 AS ok')).rows[0].ok).toBe(2);
      await again.end();
    } finally {
      await flaky.close();
      await tap.close();
    }
  });

  it('fails closed when the audit store cannot be written: sessions end with 58030, new ones are refused', async () => {
    const broken = await startTestGateway(db, { tls: 'off' });
    try {
      const client = await broken.connect();
      const errors: PgError[] = [];
      client.on('error', (error: PgError) => errors.push(error));
      await client.query('SELECT 1');
      // Another connection makes every write fail from now on, as a full disk would.
      const saboteur = await SqliteConnection.open(broken.engine.store.file, 'readwrite');
      await saboteur.run("CREATE TRIGGER refuse BEFORE INSERT ON event_batches BEGIN SELECT RAISE(ABORT, 'disk full'); END");
      await saboteur.close();
      await client.query('SELECT 2').catch(() => undefined);
      await eventually(async () => expect(errors.map((error) => error.code)).toContain('58030'));
      const refused = await connectError(broken.clientConfig());
      expect(refused.code).toBe('58030');
      expect(refused.message).toMatch(/audit store is failing/);
      expect(broken.logs.join('')).toMatch(/audit store write failed; ending all sessions .*disk full/);
    } finally {
      await broken.close();
    }
  });

  it('refuses passwords over plaintext on a non-loopback listener', async () => {
    const open = await startTestGateway(db, { tls: 'auto', listenHost: '0.0.0.0' });
    try {
      const error = await connectError(open.clientConfig({ ssl: false }));
      expect(error.code).toBe('28000');
      expect(error.message).toMatch(/only over TLS/);
      const client = await open.connect({ ssl: { rejectUnauthorized: false } });
      expect((await client.query('SELECT 3 AS ok')).rows[0].ok).toBe(3);
      await client.end();
    } finally {
      await open.close();
    }
  });
});
