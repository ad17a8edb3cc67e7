import { connect, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { fuzzSeed, prng } from '../../helpers/prng.js';
import { rawLogin } from '../../helpers/raw-client.js';

let db: TestDatabase;
let gateway: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  const admin = await db.connect();
  await admin.query('CREATE TABLE fuzz (id int, v text)');
  gateway = await startTestGateway(db, { tls: 'auto' });
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

const STARTUP_SEEDS = [
  serialize.startup({ user: 'ci', database: 'testdb', application_name: 'fuzz' }),
  serialize.requestSsl(),
  serialize.cancel(12345, 67890),
  Buffer.from([0, 0, 0, 8, 4, 210, 22, 48]), // GSSENCRequest
];

const SESSION_SEEDS = [
  serialize.query('SELECT 1'),
  serialize.query('INSERT INTO fuzz VALUES (1, $$x$$)'),
  serialize.parse({ name: 's1', text: 'SELECT $1::int + 1', types: [23] }),
  serialize.bind({ statement: 's1', values: ['41'] }),
  serialize.bind({ portal: 'p', statement: 's1', values: [Buffer.from([0, 0, 0, 1])], binary: true }),
  serialize.describe({ type: 'P', name: '' }),
  serialize.execute({ portal: '', rows: 0 }),
  serialize.close({ type: 'S', name: 's1' }),
  serialize.sync(),
  serialize.flush(),
];

// Outside a COPY these make PostgreSQL end the session, so they only come mutated.
const COPY_SEEDS = [serialize.copyData(Buffer.from('1\tx\n')), serialize.copyDone(), serialize.copyFail('nope')];

type Random = () => number;

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/**
 * A valid message (with probability `valid`), else a mutated one (flipped bytes, a lying length,
 * truncated, extended) or noise. Mostly-valid streams keep a session alive long enough for the
 * gateway to decode, relay and record many messages before one ends it.
 */
function fuzzMessage(random: Random, seeds: readonly Buffer[], valid: number, mutable: readonly Buffer[] = seeds): Buffer {
  const roll = random();
  if (roll < valid) return Buffer.from(pick(random, seeds));
  if (roll < valid + (1 - valid) / 5) return Buffer.from(Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256)));
  const message = Buffer.from(pick(random, mutable));
  const kind = Math.floor(random() * 4);
  if (kind === 0) {
    for (let i = 0; i < 1 + random() * 3; i++) message[Math.floor(random() * message.length)] = Math.floor(random() * 256);
    return message;
  }
  if (kind === 1) {
    const lengthAt = seeds === STARTUP_SEEDS ? 0 : 1;
    const lengths = [0, 3, 4, 7, 8, message.length + 1, 10_001, 0x7fffffff, -1];
    message.writeInt32BE(pick(random, lengths), lengthAt);
    return message;
  }
  if (kind === 2) return message.subarray(0, Math.floor(random() * message.length));
  return Buffer.concat([message, Buffer.from(Array.from({ length: Math.floor(random() * 16) }, () => Math.floor(random() * 256)))]);
}

/**
 * Sends messages in groups of `group`, letting the answers come back (until the line is quiet for
 * 5 ms) before the next group, then half-closes and resolves when the gateway closes too, or
 * rejects after 10 s: a hang. Sent all at once, the first fatal message would discard the rest
 * before the upstream ever saw them.
 */
function sendAndAwaitClose(socket: Socket, messages: readonly Buffer[], group = messages.length): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the gateway neither answered nor closed within 10 s'));
    }, 10_000);
    let quiet: NodeJS.Timeout | undefined;
    let at = 0;
    const sendNext = () => {
      if (socket.destroyed) return;
      if (at >= messages.length) {
        socket.end();
        return;
      }
      socket.write(Buffer.concat(messages.slice(at, at + group)));
      at += group;
      quiet = setTimeout(sendNext, 5);
    };
    socket.on('error', () => {});
    socket.on('data', () => {
      clearTimeout(quiet);
      quiet = setTimeout(sendNext, 5);
    });
    socket.once('close', () => {
      clearTimeout(timer);
      clearTimeout(quiet);
      resolve();
    });
    socket.resume();
    sendNext();
  });
}

async function inBatches(count: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describe('the gateway under random and mutated bytes', () => {
  it('survives 100,000 fuzzed messages before and after login, then serves a new session', async () => {
    const seed = fuzzSeed(Date.now() % 1_000_000);
    const random = prng(seed);
    let sent = 0;
    try {
      // Before login: one fuzzed startup-phase packet per connection (SSLRequest, cancel, startup),
      // sometimes after a valid SSLRequest or GSSENCRequest, so each one is actually read.
      await inBatches(3_000, 16, async () => {
        const socket = connect({ host: gateway.host, port: gateway.port });
        const messages = [fuzzMessage(random, STARTUP_SEEDS, 0.2)];
        sent += messages.length;
        await sendAndAwaitClose(socket, messages);
      });
      // After login: mostly valid traffic with mutations mixed in, decoded by the relay and,
      // when still framed, answered by the upstream.
      await inBatches(500, 8, async () => {
        const socket = await rawLogin({ host: gateway.host, port: gateway.port, database: gateway.resource, token: gateway.token });
        const messages = Array.from({ length: 200 }, () => fuzzMessage(random, SESSION_SEEDS, 0.97, [...SESSION_SEEDS, ...COPY_SEEDS]));
        sent += messages.length;
        await sendAndAwaitClose(socket, messages, 10);
      });
    } catch (error) {
      throw new Error(`fuzz run failed (reproduce with SLUICE_FUZZ_SEED=${seed})`, { cause: error });
    }
    expect(sent).toBeGreaterThanOrEqual(100_000);
    // The sessions really carried traffic: the gateway relayed and recorded many statements.
    await gateway.engine.store.flush();
    const sessions = await gateway.engine.store.listSessions({ limit: 1_000 });
    const statements = sessions.reduce((sum, session) => sum + session.counters.statements, 0);
    process.stdout.write(`fuzz: ${sent} messages sent, ${sessions.length} sessions recorded, ${statements} statements relayed and recorded\n`);
    expect(statements).toBeGreaterThan(1_000);

    const client = await gateway.connect();
    expect((await client.query('SELECT count(*) >= 0 AS alive FROM fuzz')).rows[0].alive).toBe(true);
    await client.end();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(gateway.engine.postgres!.sessions).toBe(0);
  }, 120_000);
});
