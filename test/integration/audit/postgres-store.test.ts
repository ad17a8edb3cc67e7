import { mkdtemp, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditReader, GatewayRecord, SessionRecording } from '../../../proxy/audit/audit-types.js';
import { EventChain } from '../../../proxy/audit/event-chain.js';
import { openPostgresAuditReader, openPostgresAuditStore, type PostgresAuditStore, type PostgresAuditStoreOptions } from '../../../proxy/audit/postgres/postgres-store.js';
import { AuditSchemaError } from '../../../proxy/audit/sqlite/migrate.js';
import { loadOrCreateSigningKey, type SigningKey } from '../../../proxy/audit/signing-key.js';
import { verifyGateways, verifyStore } from '../../../proxy/audit/verify-store.js';
import { canonicalJson } from '../../../proxy/common/canonical-json.js';
import { verifySessionEvents } from '../../../proxy/common/chain-verify.js';
import { publicKeyLine } from '../../../proxy/common/checkpoint-verify.js';
import { eventually } from '../../helpers/eventually.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { sessionStart } from '../../unit/audit/audit-fixtures.js';

// The shared audit store on a real PostgreSQL: several gateways at once, each with its own
// ledger and key; the server going away under a gateway that keeps recording (a TCP proxy in
// front of it is cut and restored); and the password kept out of every message.

let db: TestDatabase;
const dirs: string[] = [];
const stores: { close(): Promise<void> }[] = [];
const proxies: CuttableProxy[] = [];

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
});

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.close().catch(() => undefined)));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  await db?.drop();
});

interface TestGateway {
  readonly key: SigningKey;
  readonly identity: PostgresAuditStoreOptions['gateway'];
}

async function newGateway(name: string): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pg-audit-'));
  dirs.push(dir);
  const key = await loadOrCreateSigningKey(dir);
  return { key, identity: { id: key.kid, name, publicKey: publicKeyLine(key.publicJwk) } };
}

async function open(gateway: TestGateway, overrides: Partial<PostgresAuditStoreOptions> = {}) {
  const errors: Error[] = [];
  const store = await openPostgresAuditStore({ connectionString: db.url, durability: 'batched', gateway: gateway.identity, onError: (error) => errors.push(error), ...overrides });
  stores.push(store);
  return { store, errors };
}

async function reader(url = db.url): Promise<AuditReader> {
  const opened = await openPostgresAuditReader(url);
  stores.push(opened);
  return opened;
}

/** A shared store is verified gateway by gateway, each with its own key. */
function verifyGateway(store: AuditReader, gateway: TestGateway) {
  return verifyStore(store, gateway.key.publicJwk, gateway.key.kid);
}

const query = (n: number) => ({ protocol: 'simple', text: `SELECT ${n}`, duration_ms: 0.2, rows: 1, outcome: 'ok', tags: ['SELECT 1'] });
const counters = { statements: 0, errors: 0, rows: 0 };

interface CuttableProxy {
  /** db.url, through the proxy. */
  readonly url: string;
  /** Drops every connection and refuses new ones, as a server gone or a network cut would. */
  cut(): void;
  /** Drops every connection and leaves new ones unanswered, as a network dropping packets would. */
  stall(): void;
  restore(): void;
  /** Lets the next COMMIT reach the server, then cuts before its answer reaches the client. */
  loseNextCommitAnswer(): void;
  close(): Promise<void>;
}

async function startCuttableProxy(target: TestDatabase, url = target.url): Promise<CuttableProxy> {
  let cut = false;
  let stalled = false;
  let loseCommit = false;
  const open = new Set<Socket>();
  const dropAll = () => open.forEach((socket) => socket.destroy());
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    if (stalled) {
      open.add(client);
      client.on('close', () => open.delete(client));
      return void client.on('error', () => undefined);
    }
    const upstream = connect({ host: target.host, port: target.port });
    let commitSent = false;
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('data', (chunk: Buffer) => {
      if (loseCommit && chunk.includes('COMMIT\0')) {
        loseCommit = false;
        commitSent = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      // The server has committed; its answer never arrives.
      if (commitSent) return dropAll();
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: CuttableProxy = {
    url: url.replace(`@${target.host}:${target.port}/`, `@127.0.0.1:${port}/`),
    cut() {
      cut = true;
      dropAll();
    },
    stall() {
      stalled = true;
      dropAll();
    },
    restore() {
      cut = false;
      stalled = false;
    },
    loseNextCommitAnswer() {
      loseCommit = true;
    },
    close: () =>
      new Promise((resolve) => {
        dropAll();
        server.close(() => resolve());
      }),
  };
  proxies.push(proxy);
  return proxy;
}

/** Records events into `recording` every `everyMs` until stopped; knows which ones the store acknowledged. */
function keepRecording(recording: SessionRecording, everyMs = 1) {
  let sent = 0;
  const acknowledged = new Set<number>();
  let stopped = false;
  const pending: Promise<void>[] = [];
  const done = (async () => {
    while (!stopped) {
      const n = ++sent;
      pending.push(recording.event('query', query(n)).then(() => void acknowledged.add(n)));
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    get sent() {
      return sent;
    },
    acknowledged,
    async stop() {
      stopped = true;
      await done;
      return pending;
    },
  };
}

describe('the PostgreSQL audit store', () => {
  it('migrates a new database once when four gateways open it at the same moment', async () => {
    const fresh = await createTestDatabase(`${import.meta.filename}-migrations`);
    try {
      await fresh.logStatements();
      const gateways = await Promise.all(['a', 'b', 'c', 'd'].map((name) => newGateway(name)));
      const opened = await Promise.all(gateways.map((gateway) => openPostgresAuditStore({ connectionString: fresh.url, durability: 'batched', gateway: gateway.identity })));
      await Promise.all(opened.map((store) => store.close()));
      const client = await fresh.connect();
      expect((await client.query('SELECT version, name FROM sluice.audit_migrations')).rows).toEqual([{ version: 1, name: 'shared-store' }]);
      expect((await client.query('SELECT count(*)::int AS n FROM sluice.gateways')).rows[0]).toEqual({ n: 4 });
      const log = await fresh.serverLog();
      expect(log.filter((line) => line.message.includes('CREATE TABLE sluice.gateways'))).toHaveLength(1);
      expect(log.filter((line) => line.message.includes('pg_advisory_xact_lock(8317151707346042881)')).length).toBeGreaterThanOrEqual(1);

      // A store a newer build has migrated further is refused, by writers and readers alike.
      await client.query("INSERT INTO sluice.audit_migrations (version, name) VALUES (7, 'from-the-future')");
      const refusal = /has schema version 7, but this build of Sluice knows versions up to 1: it was written by a newer Sluice/;
      await expect(openPostgresAuditStore({ connectionString: fresh.url, durability: 'batched', gateway: gateways[0]!.identity })).rejects.toThrow(refusal);
      await expect(openPostgresAuditReader(fresh.url)).rejects.toBeInstanceOf(AuditSchemaError);
    } finally {
      await fresh.drop();
    }
  });

  it('says there is no store in a database no gateway has written', async () => {
    const empty = await createTestDatabase(`${import.meta.filename}-empty`);
    try {
      await expect(openPostgresAuditReader(empty.url)).rejects.toThrow(`no audit store at 127.0.0.1:${empty.port}/${empty.database}`);
    } finally {
      await empty.drop();
    }
  });

  it('stores each payload as the canonical text it hashed, and the hashes are the SQLite store’s', async () => {
    const gateway = await newGateway('round-trip');
    const { store, errors } = await open(gateway);
    const recording = store.beginSession(sessionStart());
    const payloads = [
      { z: 1, a: { y: [3, 1e21, 0.1, -0], b: 'ünïcödé \u2028 "quoted" \\ \ud83d\ude00' }, m: null },
      { text: 'SELECT $1', params: ['a', 2, true], big: 1.2345678901234567e19 },
      { empty: {}, list: [], nested: [{ b: 2, a: 1 }] },
    ];
    for (const payload of payloads) await recording.event('query', payload);
    await recording.end('closed', { statements: 3, errors: 0, rows: 3 });
    await store.flush();

    const session = await store.getSession(recording.id);
    expect(session).toMatchObject({ id: recording.id, gateway: gateway.key.kid, resource: 'prod-db', protocol: 'postgres', status: 'closed', counters: { statements: 3, errors: 0, rows: 3 } });
    expect(session!.identity).toEqual({ subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['ci', 'dba'] });
    const events = await store.listEvents(recording.id);
    expect(events.map((event) => event.kind)).toEqual(['connect', 'query', 'query', 'query', 'disconnect']);
    expect(events.slice(1, 4).map((event) => event.payload)).toEqual(payloads.map((payload) => JSON.parse(canonicalJson(payload))));

    const client = await db.connect();
    const stored = await client.query<{ payload: string }>('SELECT payload FROM sluice.events WHERE session_id = $1 ORDER BY seq', [recording.id]);
    expect(stored.rows.slice(1, 4).map((row) => row.payload)).toEqual(payloads.map((payload) => canonicalJson(payload)));

    // The spec's verifier and the writer's own chain (the SQLite store's) agree on every hash.
    const chained = events.map((event) => ({ session_id: event.sessionId, seq: event.seq, time: event.time, kind: event.kind, payload: event.payload, prev_hash: event.prevHash, hash: event.hash }));
    expect(await verifySessionEvents(recording.id, chained)).toBeUndefined();
    const chain = new EventChain(recording.id);
    expect(events.map((event) => chain.next(event.kind, event.time, event.payload as Record<string, unknown>).hash)).toEqual(events.map((event) => event.hash));
    expect((await verifyGateway(store, gateway)).ok).toBe(true);
    expect(errors).toEqual([]);
    expect(store.file).toBe(`${db.host}:${db.port}/${db.database}`);
  });

  it('keeps one verifiable ledger per gateway while two gateways write at once', async () => {
    const [east, west] = [await newGateway('east /data'), await newGateway('west /data')];
    const a = await open(east);
    const b = await open(west);
    const record = async (store: PostgresAuditStore, label: string) => {
      const recordings = Array.from({ length: 12 }, (_, index) => store.beginSession(sessionStart({ resource: `${label}-${index}` })));
      for (let i = 0; i < 600; i++) {
        void recordings[i % recordings.length]!.event('query', query(i));
        if (i % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      }
      await Promise.all(recordings.slice(0, 8).map((recording) => recording.end('closed', counters)));
      await store.flush();
    };
    await Promise.all([record(a.store, 'east'), record(b.store, 'west')]);
    await Promise.all([a.store.checkpoint(east.key), b.store.checkpoint(west.key)]);

    const shared = await reader();
    expect((await shared.gateways!()).map((gateway) => [gateway.id, gateway.name, gateway.publicKey])).toEqual(
      expect.arrayContaining([
        [east.key.kid, 'east /data', publicKeyLine(east.key.publicJwk)],
        [west.key.kid, 'west /data', publicKeyLine(west.key.publicJwk)],
      ]),
    );
    for (const [gateway, label] of [[east, 'east'], [west, 'west']] as const) {
      const verified = await verifyGateway(shared, gateway);
      expect(verified).toMatchObject({ ok: true, sessions: 12, events: 12 + 600 + 8, ledger: 12 + 8, checkpoints: 1 });
      const chain = await shared.readChain(gateway.key.kid);
      expect(chain.sessions).toHaveLength(12);
      const sessions = await Promise.all(chain.sessions.map((session) => shared.getSession(session.id)));
      expect(sessions.every((session) => session!.gateway === gateway.key.kid && session!.resource.startsWith(label))).toBe(true);
    }
    // One gateway's records do not pass for another's.
    expect((await verifyStore(shared, west.key.publicJwk, east.key.kid)).ok).toBe(false);
    // `sluice verify` over the whole store, with both keys pinned.
    const all = await verifyGateways(shared as AuditReader & { gateways(): Promise<GatewayRecord[]> }, [east.key.publicJwk, west.key.publicJwk]);
    const ours = all.filter((result) => result.gateway === east.key.kid || result.gateway === west.key.kid);
    expect(ours.map((result) => [result.name, result.ok, result.keyTrusted]).sort()).toEqual([
      ['east /data', true, true],
      ['west /data', true, true],
    ]);
    // A writing store reads its own chain by default; a reader of a shared store must be told which.
    expect((await a.store.readChain()).ledger).toHaveLength(20);
    await expect(shared.readChain()).rejects.toThrow(/holds the chains of \d+ gateways, each verified with its own key: name one/);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('seals the sessions its own previous run left open, and never another gateway’s', async () => {
    const [mine, theirs] = [await newGateway('mine'), await newGateway('theirs')];
    const first = await open(mine);
    const other = await open(theirs);
    const crashed = first.store.beginSession(sessionStart());
    await crashed.event('query', query(1));
    const live = other.store.beginSession(sessionStart());
    await live.event('query', query(1));
    await first.store.close(); // no end(): as if the process had died

    const again = await open(mine);
    const sealed = await again.store.getSession(crashed.id);
    const events = await again.store.listEvents(crashed.id);
    expect(sealed).toMatchObject({ status: 'aborted', endedAt: Math.floor(events.at(-1)!.time / 1000) });
    expect((await again.store.getSession(live.id))?.status).toBe('open');
    expect(await verifyGateway(again.store, mine)).toMatchObject({ ok: true, sessions: 1, ledger: 2 });
    await live.end('closed', counters);
    await other.store.flush();
    expect(await verifyGateway(again.store, theirs)).toMatchObject({ ok: true, sessions: 1, ledger: 2 });
  });

  it('checkpoints and prunes its own ledger and sessions only', async () => {
    let clock = Date.UTC(2025, 0, 1);
    const now = () => clock;
    const [mine, theirs] = [await newGateway('mine'), await newGateway('theirs')];
    const a = await open(mine, { now });
    const b = await open(theirs, { now });
    const old = [a.store.beginSession(sessionStart()), a.store.beginSession(sessionStart()), b.store.beginSession(sessionStart())];
    for (const recording of old) {
      await recording.event('query', query(1));
      await recording.end('closed', counters);
    }
    await a.store.checkpoint(mine.key);
    await a.store.checkpoint(mine.key); // nothing new: no second checkpoint
    clock += 86_400_000;
    const recent = a.store.beginSession(sessionStart());
    await recent.end('closed', counters);
    await expect(a.store.checkpoint(theirs.key)).rejects.toThrow(`the signing key ${theirs.key.kid} is not gateway ${mine.key.kid}'s`);

    expect(await a.store.prune(clock - 1_000, mine.key)).toBe(2);
    expect(await a.store.prune(clock - 1_000, mine.key)).toBe(0);
    await a.store.checkpoint(mine.key);
    expect(await a.store.getSession(old[0]!.id)).toBeUndefined();
    expect(await a.store.listEvents(old[0]!.id)).toEqual([]);
    expect((await a.store.getSession(old[2]!.id))?.status).toBe('closed');
    expect(await verifyGateway(a.store, mine)).toMatchObject({ ok: true, sessions: 1, pruned: 2, ledger: 6, checkpoints: 2 });
    expect(await verifyGateway(a.store, theirs)).toMatchObject({ ok: true, sessions: 1, pruned: 0 });
    // Reopened, it continues its ledger and numbers.
    await a.store.close();
    const again = await open(mine, { now });
    const more = again.store.beginSession(sessionStart());
    await more.end('closed', counters);
    await again.store.checkpoint(mine.key);
    expect(await verifyGateway(again.store, mine)).toMatchObject({ ok: true, sessions: 2, ledger: 8, checkpoints: 3 });
  });

  it('rides out outages: every acknowledged event is stored once, in order, and the chains verify', async () => {
    const gateway = await newGateway('outage');
    const proxy = await startCuttableProxy(db);
    const { store, errors } = await open(gateway, { connectionString: proxy.url });
    const recordings = [store.beginSession(sessionStart()), store.beginSession(sessionStart())];
    const writers = recordings.map((recording) => keepRecording(recording));
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      // The second time, the server commits a batch whose answer never reaches the gateway.
      if (round === 1) proxy.loseNextCommitAnswer();
      proxy.cut();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const acknowledgedAtCut = writers.map((writer) => writer.acknowledged.size);
      const sentAtCut = writers.map((writer) => writer.sent);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Nothing committed while the server was unreachable, and a batched store under its bound is not failing.
      expect(writers.map((writer) => writer.acknowledged.size)).toEqual(acknowledgedAtCut);
      expect(writers.every((writer, index) => writer.sent > sentAtCut[index]! + 50)).toBe(true);
      expect(store.failure).toBeUndefined();
      proxy.restore();
      // Back: what was recorded during the cut is acknowledged.
      await eventually(async () => expect(writers.every((writer, index) => writer.acknowledged.size > sentAtCut[index]! + 50)).toBe(true), 10_000);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const pending = await Promise.all(writers.map((writer) => writer.stop()));
    await Promise.all(recordings.map((recording) => recording.end('closed', counters)));
    await store.flush();
    await Promise.all(pending.flat());

    const direct = await reader();
    for (const [index, recording] of recordings.entries()) {
      const writer = writers[index]!;
      expect(writer.acknowledged.size).toBe(writer.sent);
      const events = await direct.listEvents(recording.id);
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: writer.sent + 2 }, (_, i) => i + 1));
      expect(events.slice(1, -1).map((event) => (event.payload as { text: string }).text)).toEqual(Array.from({ length: writer.sent }, (_, i) => `SELECT ${i + 1}`));
    }
    expect(store.stats()).toMatchObject({ queued: 0, droppedEvents: 0 });
    expect(store.stats().reconnects).toBeGreaterThanOrEqual(3);
    expect(await verifyGateway(direct, gateway)).toMatchObject({ ok: true, sessions: 2 });
    expect(errors).toEqual([]);
  });

  it('does not write a batch twice when the answer to its COMMIT is lost', async () => {
    const gateway = await newGateway('lost-commit');
    const proxy = await startCuttableProxy(db);
    const { store, errors } = await open(gateway, { connectionString: proxy.url });
    const recording = store.beginSession(sessionStart());
    await store.flush();
    proxy.loseNextCommitAnswer();
    for (let i = 1; i <= 50; i++) void recording.event('query', query(i));
    await recording.end('closed', counters);
    await store.flush();
    expect(store.stats().retries).toBeGreaterThan(0);
    expect(errors).toEqual([]);
    const client = await db.connect();
    const { rows } = await client.query<{ n: number; distinct: number }>('SELECT count(*)::int AS n, count(DISTINCT seq)::int AS distinct FROM sluice.events WHERE session_id = $1', [recording.id]);
    expect(rows[0]).toEqual({ n: 52, distinct: 52 });
    expect(await verifyGateway(store, gateway)).toMatchObject({ ok: true, events: 52 });
  });

  it('past maxBufferedEvents sets failure, drops further events and says so once; recovery clears it', async () => {
    const gateway = await newGateway('bounded');
    const proxy = await startCuttableProxy(db);
    const { store, errors } = await open(gateway, { connectionString: proxy.url, maxBufferedEvents: 50 });
    const recording = store.beginSession(sessionStart());
    await recording.event('query', query(0));
    proxy.cut();
    for (let i = 1; i <= 120; i++) void recording.event('query', query(i));
    expect(store.failure?.message).toMatch(/holds 50 events it could not write yet, its limit: further events are dropped until it writes again/);
    expect(errors).toEqual([store.failure]);
    expect(store.stats()).toMatchObject({ queued: 50, droppedEvents: 70 });
    proxy.restore();
    await eventually(async () => expect(store.failure).toBeUndefined(), 10_000);
    await store.flush();
    expect(errors).toHaveLength(1);
    // The session's connect and disconnect are never dropped; the gap is where events were lost, and verification names it.
    await recording.end('closed', counters);
    await store.flush();
    const events = await store.listEvents(recording.id);
    expect(events.map((event) => event.seq)).toEqual([...Array.from({ length: 52 }, (_, i) => i + 1), 123]);
    const verified = await verifyGateway(store, gateway);
    expect(verified).toMatchObject({ ok: false, problem: { session_id: recording.id, message: expect.stringMatching(/events 53 to 122 are missing/) } });
  });

  it('strict: failing while its connection is down, the awaited event committed once it is back', async () => {
    const gateway = await newGateway('strict');
    const proxy = await startCuttableProxy(db);
    const { store, errors } = await open(gateway, { connectionString: proxy.url, durability: 'strict' });
    const recording = store.beginSession(sessionStart());
    await recording.event('query', query(1));
    expect(store.failure).toBeUndefined();
    proxy.cut();
    await eventually(async () => expect(store.failure?.message).toMatch(/lost its connection|cannot be reached/));
    let committed = false;
    const during = recording.event('query', query(2)).then(() => (committed = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(committed).toBe(false);
    proxy.restore();
    await during;
    await eventually(async () => expect(store.failure).toBeUndefined(), 10_000);
    expect((await store.listEvents(recording.id)).map((event) => event.seq)).toEqual([1, 2, 3]);
    expect(errors).toEqual([]);
  });

  it('close waits a bounded time for a server that does not answer, then reports what it could not record', async () => {
    const gateway = await newGateway('closing');
    const proxy = await startCuttableProxy(db);
    const { store, errors } = await open(gateway, { connectionString: proxy.url, closeTimeoutMs: 300 });
    const recording = store.beginSession(sessionStart());
    await recording.event('query', query(0));
    // Reconnecting hangs in connect (no answer, no refusal) when close comes.
    proxy.stall();
    for (let i = 1; i <= 10; i++) void recording.event('query', query(i));
    const started = Date.now();
    await store.close();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(/was closed while it could not be written: 10 events \(10 writes in all\) were not recorded/)]);
    expect(store.failure).toBe(errors[0]);
    await expect(recording.event('query', query(11))).resolves.toBeUndefined();
    expect(errors.at(-1)!.message).toMatch(/is closed: event 13 \(query\) of session \w+ was not recorded/);
  });

  it('stops writing, with a clear error, when another process opens the store as the same gateway', async () => {
    const gateway = await newGateway('twice');
    const first = await open(gateway);
    const second = await open(gateway);
    await first.store.beginSession(sessionStart()).event('query', query(1));
    expect(first.errors[0]?.message).toMatch(/another process opened the audit store .* as gateway .* \(the same signing key\) and writes as it now/);
    expect(first.store.failure).toBe(first.errors[0]);
    const recording = second.store.beginSession(sessionStart());
    await recording.end('closed', counters);
    expect(second.errors).toEqual([]);
    expect(await verifyGateway(second.store, gateway)).toMatchObject({ ok: true, sessions: 1 });
  });

  it('never puts the password in a message, whatever fails', async () => {
    const canary = `Canary#${Math.random().toString(36).slice(2)}/pw`;
    const role = `sluice_canary_${process.pid}`;
    const admin = await db.connect();
    await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${canary.replace(/'/g, "''")}'`);
    try {
      const canaryUrl = `postgres://${role}:${encodeURIComponent(canary)}@${db.host}:${db.port}/${db.database}`;
      const gateway = await newGateway('canary');
      const messages: string[] = [];
      const collect = (error: unknown) => messages.push(String(error), (error as Error).stack ?? '', JSON.stringify(error), String((error as Error).cause ?? ''));
      // A wrong password, a port nobody listens on, a URL that does not parse, a string that is not a URL.
      for (const url of [
        canaryUrl.replace(encodeURIComponent(canary), encodeURIComponent(`${canary}-wrong`)),
        canaryUrl.replace(`:${db.port}/`, ':1/'),
        canaryUrl.replace(`:${db.port}/`, ':port/'),
        `host=${db.host} password=${canary}`,
      ]) {
        await openPostgresAuditStore({ connectionString: url, durability: 'batched', gateway: gateway.identity }).then(
          () => expect.unreachable(),
          (error: unknown) => collect(error),
        );
        await openPostgresAuditReader(url).then(
          () => expect.unreachable(),
          (error: unknown) => collect(error),
        );
      }
      // And an outage in both modes, through close.
      const proxy = await startCuttableProxy(db, canaryUrl);
      for (const durability of ['batched', 'strict'] as const) {
        const store = await openPostgresAuditStore({ connectionString: proxy.url, durability, gateway: gateway.identity, maxBufferedEvents: 5, closeTimeoutMs: 200, onError: collect });
        const recording = store.beginSession(sessionStart());
        await recording.event('query', query(0));
        proxy.cut();
        for (let i = 1; i <= 20; i++) void recording.event('query', query(i));
        await eventually(async () => expect(store.failure).toBeDefined());
        collect(store.failure);
        await store.listSessions().catch(collect);
        await store.close();
        collect(store.failure);
        messages.push(store.file);
        proxy.restore();
      }
      expect(messages.length).toBeGreaterThan(20);
      for (const message of messages) {
        expect(message).not.toContain(canary);
        expect(message).not.toContain(encodeURIComponent(canary));
        expect(message).not.toContain(canary.slice(0, 14));
      }
    } finally {
      await admin.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
    }
  });
});
