import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCuttableProxy, type CuttableProxy } from '../../helpers/cuttable-proxy.js';
import { eventually } from '../../helpers/eventually.js';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { runCli } from '../../helpers/run-cli.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';

// Issue 8: several gateways, one PostgreSQL audit and approval store. Two `sluice serve`
// processes (each with its own data_dir, so its own signing key and gateway id) share a store
// database: an approval held by gateway A is listed and decided through gateway B's API, both
// gateways' sessions verify, and a store outage neither loses acknowledged events nor lets
// statements run unrecorded.

const POLICY = [
  '{ name: ci-read, match: { groups: [ci], kinds: [select, set, utility] }, effect: allow }',
  '{ name: ci-writes, match: { groups: [ci], kinds: [update] }, effect: approve }',
];

interface Gateway {
  readonly config: GatewayConfigFile;
  readonly process: ServeProcess;
}

let upstream: TestDatabase;
let store: TestDatabase;
let direct: pg.Client;
let a: Gateway;
let b: Gateway;

async function startGateway(storeUrl: string, options: { durability?: 'strict' | 'batched'; approvals?: string } = {}): Promise<Gateway> {
  const config = await writeGatewayConfig(upstream, { tls: 'off', api: true, policy: POLICY, auditStoreUrl: storeUrl, approvals: options.approvals ?? '{ timeout: 30s, quorum: 1 }', durability: options.durability ?? 'batched' });
  return { config, process: await startServeProcess(config.configFile) };
}

function client(gateway: Gateway): Promise<pg.Client> {
  const connection = new pg.Client({ host: gateway.process.host, port: gateway.process.port, user: 'ci', password: gateway.config.token, database: gateway.config.resource });
  return connection.connect().then(() => connection);
}

/** POST /api/v1/<method> on a gateway's engine API. */
async function api(gateway: Gateway, token: string, method: string, input: unknown = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway.process.apiUrl}/api/v1/${method}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(input) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function pendingOn(gateway: Gateway): Promise<Record<string, unknown>[]> {
  const { body } = await api(gateway, gateway.config.staff.alice, 'approvals.list', { status: 'pending' });
  return body.value as Record<string, unknown>[];
}

/** A query on the store database itself, as an auditor with SQL access would run it. */
async function storeQuery<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const connection = new pg.Client({ connectionString: store.url });
  await connection.connect();
  try {
    return (await connection.query<T>(sql)).rows;
  } finally {
    await connection.end();
  }
}

async function qty(): Promise<number> {
  return (await direct.query<{ qty: number }>('SELECT qty FROM items WHERE id = 1')).rows[0]!.qty;
}

beforeAll(async () => {
  [upstream, store] = await Promise.all([createTestDatabase(`${import.meta.filename}-upstream`), createTestDatabase(`${import.meta.filename}-store`)]);
  direct = await upstream.connect();
  await direct.query('CREATE TABLE items (id int PRIMARY KEY, qty int); INSERT INTO items VALUES (1, 0)');
  // Started together: their migrations race and must not collide.
  [a, b] = await Promise.all([startGateway(store.url), startGateway(store.url)]);
}, 60_000);

afterAll(async () => {
  await Promise.all([a?.process.stop(), b?.process.stop()]);
  await direct?.end();
  await Promise.all([upstream?.drop(), store?.drop()]);
});

describe('two gateways, one store', () => {
  it('lists an approval held by gateway A on gateway B, and B’s decision lets A’s statement run', async () => {
    const caller = await client(a);
    try {
      const update = caller.query('UPDATE items SET qty = 5 WHERE id = 1');
      const [pending] = await eventually(async () => {
        const list = await pendingOn(b);
        expect(list).toHaveLength(1);
        return list;
      });
      expect(pending).toMatchObject({ resource: 'testdb', statement: 'UPDATE items SET qty = 5 WHERE id = 1', status: 'pending' });
      const decided = await api(b, b.config.staff.bob, 'approvals.decide', { id: pending!.id, decision: 'approve', reason: 'ticket 7' });
      expect(decided.status).toBe(200);
      await expect(update).resolves.toMatchObject({ rowCount: 1 });
      expect(await qty()).toBe(5);
    } finally {
      await caller.end();
    }
  });

  it('gives one outcome when approvers on both gateways decide at once', async () => {
    const caller = await client(b);
    try {
      const update = caller.query('UPDATE items SET qty = 9 WHERE id = 1').then(
        () => 'ran',
        (error: pg.DatabaseError) => error.message,
      );
      const [pending] = await eventually(async () => {
        const list = await pendingOn(a);
        expect(list).toHaveLength(1);
        return list;
      });
      const answers = await Promise.all([
        api(a, a.config.staff.alice, 'approvals.decide', { id: pending!.id, decision: 'deny', reason: 'not now' }),
        api(b, b.config.staff.bob, 'approvals.decide', { id: pending!.id, decision: 'approve' }),
      ]);
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 409]);
      const outcome = await update;
      const approved = answers.find((answer) => answer.status === 200)!.body;
      const status = (approved.value as { status: string }).status;
      if (status === 'approved') {
        expect(outcome).toBe('ran');
        expect(await qty()).toBe(9);
      } else {
        expect(status).toBe('denied');
        expect(outcome).toMatch(/denied by alice: not now/);
        expect(await qty()).toBe(5);
      }
    } finally {
      await caller.end();
    }
  });

  it('cancels the approval of a client that disconnects while held, everywhere', async () => {
    const caller = await client(a);
    caller.on('error', () => undefined);
    void caller.query('UPDATE items SET qty = 11 WHERE id = 1').catch(() => undefined);
    const [pending] = await eventually(async () => {
      const list = await pendingOn(b);
      expect(list).toHaveLength(1);
      return list;
    });
    await caller.end();
    await eventually(async () => expect(await pendingOn(b)).toEqual([]));
    const decided = await api(b, b.config.staff.bob, 'approvals.decide', { id: pending!.id, decision: 'approve' });
    expect(decided.status).toBe(409);
    expect(await qty()).not.toBe(11);
  });

  it('records which gateway recorded each session, and `sluice verify` checks both gateways’ chains', async () => {
    const reader = await client(a);
    await reader.query('SELECT 1');
    await reader.end();
    const fromB = await client(b);
    await fromB.query('SELECT 2');
    await fromB.end();
    const rows = await storeQuery<{ gateway: string; n: number }>('SELECT gateway, count(*)::int AS n FROM sluice.sessions GROUP BY gateway ORDER BY gateway');
    expect(rows).toHaveLength(2);
    expect(rows.every((row) => row.n >= 2)).toBe(true);
    const verified = await runCli(['verify', '--config', a.config.configFile]);
    expect(verified.stderr).toBe('');
    expect(verified.code).toBe(0);
    expect(verified.stdout.match(/^verified gateway /gm)).toHaveLength(2);
  });
});

describe('the store’s connection failing', () => {
  let proxy: CuttableProxy;
  let batched: Gateway;
  let strict: Gateway;

  beforeAll(async () => {
    proxy = await startCuttableProxy({ host: store.host, port: store.port });
    const through = store.url.replace(`:${store.port}/`, `:${proxy.port}/`);
    [batched, strict] = await Promise.all([startGateway(through), startGateway(through, { durability: 'strict' })]);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([batched?.process.stop(), strict?.process.stop()]);
    await proxy?.close();
  });

  it('batched: statements go on during an outage and every one of them is in the store after it', async () => {
    const caller = await client(batched);
    try {
      for (let i = 0; i < 5; i++) await caller.query(`SELECT ${i} AS before_outage`);
      proxy.cut();
      for (let i = 0; i < 20; i++) await caller.query(`SELECT ${i} AS during_outage`);
      proxy.restore();
      for (let i = 0; i < 5; i++) await caller.query(`SELECT ${i} AS after_outage`);
    } finally {
      await caller.end();
    }
    await eventually(async () => {
      const texts = (await storeQuery<{ text: string }>("SELECT payload::json->>'text' AS text FROM sluice.events WHERE kind = 'query' AND payload LIKE '%_outage%'")).map((row) => row.text);
      expect(texts.filter((text) => text.includes('during_outage'))).toHaveLength(20);
      expect(texts.filter((text) => text.includes('before_outage'))).toHaveLength(5);
      expect(texts.filter((text) => text.includes('after_outage'))).toHaveLength(5);
    }, 20_000);
    const verified = await runCli(['verify', '--config', batched.config.configFile]);
    expect(verified.code, verified.stderr).toBe(0);
  }, 60_000);

  it('strict: statements are refused while the store is unreachable, and run again once it is back', async () => {
    const caller = await client(strict);
    try {
      await caller.query('SELECT 1');
      proxy.cut();
      // The store's writer notices the cut connection at once and redials in the background.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const refused = (await caller.query('SELECT 2').catch((error: unknown) => error)) as pg.DatabaseError;
      expect(refused.code).toBe('58030');
      expect(refused.message).toBe('Sluice refused this statement: the audit store cannot record it right now');
      proxy.restore();
      await eventually(async () => expect((await caller.query('SELECT 3 AS back')).rows).toEqual([{ back: 3 }]), 30_000);
    } finally {
      await caller.end().catch(() => undefined);
    }
  }, 90_000);
});
