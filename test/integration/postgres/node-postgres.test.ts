import type pg from 'pg';
import Cursor from 'pg-cursor';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

let db: TestDatabase;
let gateway: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  const admin = await db.connect();
  await admin.query('CREATE TABLE items (id int PRIMARY KEY, name text, price numeric)');
  await admin.query("INSERT INTO items SELECT i, 'item ' || i, i * 1.5 FROM generate_series(1, 500) i");
  gateway = await startTestGateway(db);
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

describe('node-postgres through the gateway', () => {
  it('runs parameterized queries with text and binary-safe values', async () => {
    const client = await gateway.connect();
    const { rows } = await client.query('SELECT id, name FROM items WHERE id = ANY($1::int[]) AND name LIKE $2 ORDER BY id', [[3, 4, 99], 'item %']);
    expect(rows).toEqual([
      { id: 3, name: 'item 3' },
      { id: 4, name: 'item 4' },
      { id: 99, name: 'item 99' },
    ]);
    const { rows: bytes } = await client.query('SELECT $1::bytea AS b', [Buffer.from([0, 1, 2, 255])]);
    expect(bytes[0].b).toEqual(Buffer.from([0, 1, 2, 255]));
    await client.end();
  });

  it('reuses a named prepared statement across executions', async () => {
    const client = await gateway.connect();
    for (const id of [10, 20, 30]) {
      const { rows } = await client.query({ name: 'item-by-id', text: 'SELECT price FROM items WHERE id = $1', values: [id] });
      expect(Number(rows[0].price)).toBe(id * 1.5);
    }
    await client.end();
  });

  it('reads through a pg-cursor: a portal fetched in batches (Execute with a row limit, PortalSuspended)', async () => {
    const client = await gateway.connect({ application_name: 'cursor-reader' });
    const cursor = client.query(new Cursor('SELECT id FROM items WHERE id > $1 ORDER BY id', [100]));
    const batches: number[] = [];
    for (;;) {
      const rows = await cursor.read(150);
      if (rows.length === 0) break;
      batches.push(rows.length);
    }
    await cursor.close();
    await client.end();
    expect(batches).toEqual([150, 150, 100]);
    // Each fetch is recorded with the rows it returned.
    await eventually(async () => {
      await gateway.engine.store.flush();
      const [session] = (await gateway.engine.store.listSessions({ limit: 20 })).filter((candidate) => candidate.application === 'cursor-reader');
      const reads = (await gateway.engine.store.listEvents(session!.id)).filter((event) => event.kind === 'query').map((event) => (event.payload as { rows: number }).rows);
      expect(reads).toEqual([150, 150, 100]);
    });
  });

  it('fetches through a SQL cursor in batches', async () => {
    const client = await gateway.connect();
    await client.query('BEGIN');
    await client.query('DECLARE c CURSOR FOR SELECT id FROM items ORDER BY id');
    const first = await client.query('FETCH 200 FROM c');
    const second = await client.query('FETCH 200 FROM c');
    const third = await client.query('FETCH 200 FROM c');
    await client.query('COMMIT');
    expect([first.rowCount, second.rowCount, third.rowCount]).toEqual([200, 200, 100]);
    expect(second.rows[0].id).toBe(201);
    await client.end();
  });

  it('delivers NOTIFY from one gateway session to a LISTEN in another', async () => {
    const listener = await gateway.connect();
    const sender = await gateway.connect();
    await listener.query('LISTEN sluice_test');
    const received = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
    await sender.query("SELECT pg_notify('sluice_test', 'hello through sluice')");
    const notification = await received;
    expect(notification.channel).toBe('sluice_test');
    expect(notification.payload).toBe('hello through sluice');
    await Promise.all([listener.end(), sender.end()]);
  });

  it('cancels pg_sleep(30) with a CancelRequest routed to the right upstream backend', async () => {
    const client = await gateway.connect();
    const started = Date.now();
    const sleeping = client.query('SELECT pg_sleep(30)').then(
      () => undefined,
      (error: Error & { code?: string }) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    // A CancelRequest carries the BackendKeyData the client got: the gateway's, not the upstream's.
    const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
    await sendRawCancel(gateway.port, processID, secretKey);
    const error = await sleeping;
    expect(error?.code).toBe('57014');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await client.query('SELECT 1 AS still_usable')).rows[0].still_usable).toBe(1);
    await client.end();
  });

  it('ignores a CancelRequest with a wrong key', async () => {
    const client = await gateway.connect();
    const { processID, secretKey } = client as unknown as { processID: number; secretKey: number };
    const sleeping = client.query('SELECT pg_sleep(1.5) AS slept');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await sendRawCancel(gateway.port, processID, secretKey ^ 1);
    await sendRawCancel(gateway.port, processID + 1, secretKey);
    const { rows } = await sleeping;
    expect(rows[0].slept).toBe('');
    await client.end();
  });

  it('hands out the gateway\'s cancel key, not the upstream\'s', async () => {
    const client = await gateway.connect();
    const { processID } = client as unknown as { processID: number };
    const { rows } = await client.query('SELECT pg_backend_pid() AS pid');
    expect(processID).not.toBe(rows[0].pid);
    await client.end();
  });
});

async function sendRawCancel(port: number, processId: number, secretKey: number): Promise<void> {
  const { connect } = await import('node:net');
  const { serialize } = await import('pg-protocol');
  await new Promise<void>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(serialize.cancel(processId, secretKey)));
    socket.on('close', () => resolve());
    socket.on('error', () => resolve());
  });
}
