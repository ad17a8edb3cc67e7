import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openAuditReader, openAuditStore, type AuditStore } from '../../../proxy/audit/audit-store.js';
import { SqliteConnection } from '../../../proxy/audit/sqlite/sqlite-connection.js';
import { isUlid } from '../../../proxy/audit/ulid.js';
import { sessionStart, useTempDirs } from './audit-fixtures.js';

const tempDir = useTempDirs();
const opened: AuditStore[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(opened.splice(0).map((store) => store.close()));
});

async function open(durability: 'strict' | 'batched' = 'batched', dataDir?: string) {
  const dir = dataDir ?? join(await tempDir(), 'data');
  const errors: Error[] = [];
  const store = await openAuditStore({ dataDir: dir, durability, onError: (error) => errors.push(error) });
  opened.push(store);
  return { store, dir, errors };
}

const query = (n: number) => ({ protocol: 'simple', text: `SELECT ${n}`, duration_ms: 0.2, rows: 1, outcome: 'ok', tags: ['SELECT 1'] });

describe('the SQLite audit store', () => {
  it('records a session: its row, a connect event, statements, and disconnect with the final counters', async () => {
    const { store } = await open();
    const recording = store.beginSession(sessionStart());
    expect(isUlid(recording.id)).toBe(true);
    await recording.event('query', query(1));
    await recording.end('closed', { statements: 1, errors: 0, rows: 1 });

    const session = await store.getSession(recording.id);
    expect(session).toMatchObject({
      id: recording.id,
      resource: 'prod-db',
      protocol: 'postgres',
      identity: { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['ci', 'dba'] },
      clientAddress: '127.0.0.1:50123',
      application: 'psql',
      status: 'closed',
      counters: { statements: 1, errors: 0, rows: 1 },
    });
    expect(session!.endedAt).toBeGreaterThanOrEqual(session!.startedAt);
    const events = await store.listEvents(recording.id);
    expect(events.map((event) => [event.seq, event.kind])).toEqual([
      [1, 'connect'],
      [2, 'query'],
      [3, 'disconnect'],
    ]);
    expect(events[0]!.payload).toEqual({
      identity: { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['ci', 'dba'] },
      resource: 'prod-db',
      client_address: '127.0.0.1:50123',
      application: 'psql',
    });
    expect(events[1]!.payload).toEqual(query(1));
    expect(events[2]!.payload).toEqual({ status: 'closed', counters: { statements: 1, errors: 0, rows: 1 } });
    // µs times, in order, and the session's start is its connect event's millisecond.
    expect(Math.floor(events[0]!.time / 1000)).toBe(session!.startedAt);
    expect(events.map((event) => event.time)).toEqual([...events.map((event) => event.time)].sort((a, b) => a - b));
  });

  it('keeps only the four identity fields and the payload as given when it was queued', async () => {
    const { store } = await open();
    const identity = { subject: 'ci', issuer: 'https://issuer', method: 'oidc', groups: [], claims: { repository: 'x' }, expiresAt: 1 };
    const recording = store.beginSession(sessionStart({ identity }));
    const payload = { text: 'SELECT 1', params: ['a'] };
    const written = recording.event('query', payload);
    payload.params.push('changed later');
    await written;
    const session = await store.getSession(recording.id);
    expect(session!.identity).toEqual({ subject: 'ci', issuer: 'https://issuer', method: 'oidc', groups: [] });
    expect((await store.listEvents(recording.id))[1]!.payload).toEqual({ text: 'SELECT 1', params: ['a'] });
  });

  it('records a payload JSON cannot hold as the reason, instead of throwing at the caller', async () => {
    const { store, errors } = await open();
    const recording = store.beginSession(sessionStart());
    await recording.event('notice', { big: 10n });
    expect((await store.listEvents(recording.id))[1]!.payload).toEqual({ unrecordable_payload: expect.stringMatching(/BigInt/) });
    expect(errors).toEqual([]);
  });

  it('creates the directory 0700 and the store, WAL and shared-memory files 0600', async () => {
    const { store, dir } = await open();
    await store.beginSession(sessionStart()).event('query', query(1));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    for (const suffix of ['', '-wal', '-shm']) expect(((await stat(`${store.file}${suffix}`)).mode & 0o777).toString(8)).toBe('600');
    expect(store.file).toBe(join(dir, 'audit.sqlite'));
  });

  it('says which file it could not create, and why', async () => {
    const blocker = join(await tempDir(), 'not-a-dir');
    await writeFile(blocker, '');
    await expect(openAuditStore({ dataDir: blocker, durability: 'batched' })).rejects.toThrow(
      /^cannot create the audit store .*not-a-dir\/audit\.sqlite \((ENOTDIR|EEXIST)\); check that data_dir is a directory this user may write$/,
    );
  });

  it('refuses a file that is not an SQLite database', async () => {
    const dataDir = join(await tempDir(), 'data');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'audit.sqlite'), 'hello, I am a text file, not a database at all. '.repeat(20));
    await expect(openAuditStore({ dataDir, durability: 'batched' })).rejects.toThrow(/audit\.sqlite is not an SQLite database; move it away or point data_dir at another directory/);
  });

  it('marks the sessions a crashed run left open as aborted when it opens the store again', async () => {
    const first = await open();
    const crashed = first.store.beginSession(sessionStart());
    await crashed.event('query', query(1));
    const finished = first.store.beginSession(sessionStart());
    await finished.end('closed', { statements: 0, errors: 0, rows: 0 });
    await first.store.close(); // no end() for `crashed`: as if the process had died

    const reader = await openAuditReader(first.dir);
    expect((await reader.getSession(crashed.id))?.status).toBe('open'); // readers change nothing
    const [, queryEvent] = await reader.listEvents(crashed.id);
    await reader.close();

    const second = await open('batched', first.dir);
    const aborted = await second.store.getSession(crashed.id);
    expect(aborted).toMatchObject({ status: 'aborted', endedAt: Math.floor(queryEvent!.time / 1000) });
    expect((await second.store.getSession(finished.id))?.status).toBe('closed');
  });

  it('keeps each session’s events in seq order when many sessions write interleaved', async () => {
    const { store } = await open();
    const sessions = Array.from({ length: 6 }, (_, index) => ({ recording: store.beginSession(sessionStart({ resource: `db${index}` })), sent: 0 }));
    let state = 12345;
    const random = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 3_000; i++) {
      const session = sessions[Math.floor(random() * sessions.length)]!;
      void session.recording.event('query', { n: ++session.sent });
      if (random() < 0.01) await new Promise((resolve) => setTimeout(resolve, 1)); // let some batches commit midway
    }
    await store.flush();
    for (const { recording, sent } of sessions) {
      const events = await store.listEvents(recording.id);
      expect(events.map((event) => event.seq)).toEqual(Array.from({ length: sent + 1 }, (_, index) => index + 1));
      expect(events.slice(1).map((event) => (event.payload as { n: number }).n)).toEqual(Array.from({ length: sent }, (_, index) => index + 1));
    }
  });

  it('batches: 10,000 events commit in a few dozen transactions', async () => {
    const { store } = await open();
    const recordings = Array.from({ length: 4 }, () => store.beginSession(sessionStart()));
    for (let i = 0; i < 10_000; i++) void recordings[i % 4]!.event('query', query(i));
    expect(store.stats().queued).toBe(10_004);
    await store.flush();
    const stats = store.stats();
    expect(stats).toMatchObject({ eventsWritten: 10_004, queued: 0 });
    expect(stats.batches).toBeLessThanOrEqual(25);
  });

  it('commits events queued by a caller resuming from the previous commit', async () => {
    // Regression: the writer must notice a batch sealed before its own drain loop has returned.
    const { store } = await open();
    const recording = store.beginSession(sessionStart());
    await store.flush();
    for (let i = 0; i < 1_000; i++) void recording.event('query', query(i));
    await store.flush();
    expect(store.stats()).toMatchObject({ eventsWritten: 1_001, queued: 0 });
  });

  it('batched: waits up to 20 ms to group writes; strict: commits at once and the caller can await it', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const batched = await open('batched');
    const strict = await open('strict');
    const readers = [await openAuditReader(batched.dir), await openAuditReader(strict.dir)];
    try {
      const slow = batched.store.beginSession(sessionStart());
      const fast = strict.store.beginSession(sessionStart());
      let slowCommitted = false;
      void slow.event('query', query(1)).then(() => (slowCommitted = true));
      await fast.event('query', query(1));
      // The strict event is committed: another connection sees it.
      expect((await readers[1]!.listEvents(fast.id)).map((event) => event.kind)).toEqual(['connect', 'query']);
      // The batched one waits for its timer (frozen here).
      expect(slowCommitted).toBe(false);
      expect(batched.store.stats().queued).toBe(2);
      await vi.advanceTimersByTimeAsync(20);
      await batched.store.flush();
      expect(slowCommitted).toBe(true);
      expect((await readers[0]!.listEvents(slow.id)).map((event) => event.kind)).toEqual(['connect', 'query']);
    } finally {
      await Promise.all(readers.map((reader) => reader.close()));
    }
  });

  it('in strict mode, awaited events commit one by one without waiting for a timer', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { store } = await open('strict');
    const recording = store.beginSession(sessionStart());
    for (let i = 0; i < 20; i++) await recording.event('query', query(i));
    expect(store.stats()).toMatchObject({ eventsWritten: 21, queued: 0 });
    expect(store.stats().batches).toBeGreaterThanOrEqual(20);
  });

  it('is readable by a read-only connection while the writer is open and writing', async () => {
    const { store, dir } = await open();
    const recording = store.beginSession(sessionStart());
    await recording.event('query', query(1));
    const reader = await openAuditReader(dir);
    try {
      const [session] = await reader.listSessions();
      expect(session).toMatchObject({ id: recording.id, status: 'open' });
      for (let i = 0; i < 1_000; i++) void recording.event('query', query(i));
      const during = await reader.listEvents(recording.id);
      await store.flush();
      const after = await reader.listEvents(recording.id);
      expect(during.length).toBeLessThanOrEqual(after.length);
      expect(after).toHaveLength(1_002);
      expect(store.failure).toBeUndefined();
    } finally {
      await reader.close();
    }
  });

  it('lists sessions newest first, filtered by resource and status, up to a limit', async () => {
    const { store } = await open();
    const a = store.beginSession(sessionStart({ resource: 'a' }));
    const b = store.beginSession(sessionStart({ resource: 'b' }));
    const c = store.beginSession(sessionStart({ resource: 'a' }));
    await c.end('aborted', { statements: 0, errors: 0, rows: 0 });
    expect((await store.listSessions()).map((session) => session.id)).toEqual([c.id, b.id, a.id]);
    expect((await store.listSessions({ limit: 2 })).map((session) => session.id)).toEqual([c.id, b.id]);
    expect((await store.listSessions({ resource: 'a' })).map((session) => session.id)).toEqual([c.id, a.id]);
    expect((await store.listSessions({ resource: 'a', status: 'open' })).map((session) => session.id)).toEqual([a.id]);
    expect(await store.getSession('01HZZZZZZZZZZZZZZZZZZZZZZZ')).toBeUndefined();
  });

  it('close() commits what was queued; later events are dropped and reported, never thrown', async () => {
    const { store, dir, errors } = await open();
    const recording = store.beginSession(sessionStart());
    for (let i = 0; i < 700; i++) void recording.event('query', query(i));
    await store.close();
    await store.close(); // idempotent

    await expect(recording.event('query', query(701))).resolves.toBeUndefined();
    const late = store.beginSession(sessionStart());
    expect(isUlid(late.id)).toBe(true);
    await expect(late.end('closed', { statements: 0, errors: 0, rows: 0 })).resolves.toBeUndefined();
    expect(errors.length).toBeGreaterThanOrEqual(3);
    expect(errors[0]!.message).toMatch(/the audit store .*audit\.sqlite is closed: event 702 \(query\) of session \w+ was not recorded/);
    expect(store.failure).toBe(errors[0]);

    const reader = await openAuditReader(dir);
    expect(await reader.listEvents(recording.id)).toHaveLength(701);
    expect(await reader.getSession(late.id)).toBeUndefined();
    await reader.close();
  });

  it('sets failure and calls onError when a write fails, without throwing into the caller', async () => {
    const { store, errors } = await open();
    const recording = store.beginSession(sessionStart());
    await recording.event('query', query(1));
    expect(store.failure).toBeUndefined();

    // Another connection makes every insert fail from now on, as a full disk or a broken file would.
    const saboteur = await SqliteConnection.open(store.file, 'readwrite');
    await saboteur.run("CREATE TRIGGER refuse BEFORE INSERT ON event_batches BEGIN SELECT RAISE(ABORT, 'disk on fire'); END");
    await saboteur.close();

    await expect(recording.event('query', query(2))).resolves.toBeUndefined();
    expect(store.failure?.message).toMatch(/could not commit a batch \(1 event, 0 session start\(s\), 0 session end\(s\) lost\): .*disk on fire/);
    expect(errors).toEqual([store.failure]);
    // New sessions still get an id at once; the gateway checks `failure` and refuses them.
    expect(() => store.beginSession(sessionStart())).not.toThrow();
    await store.flush();
    expect(errors.length).toBe(2);
    expect(store.failure).toBe(errors[0]);
  });

  it('survives an onError handler that throws', async () => {
    const dataDir = join(await tempDir(), 'data');
    const store = await openAuditStore({
      dataDir,
      durability: 'batched',
      onError: () => {
        throw new Error('handler bug');
      },
    });
    await store.close();
    await expect(store.beginSession(sessionStart()).event('query', query(1))).resolves.toBeUndefined();
    expect(store.failure?.message).toMatch(/is closed/);
  });
});
