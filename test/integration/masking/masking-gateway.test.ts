import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_LIMITS, MessageReader, type Frame } from '../../../proxy/postgres/message-reader.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { findProgram } from '../../helpers/external-program.js';
import { rawLogin } from '../../helpers/raw-client.js';

const psql = findProgram('psql');

// Masking through a real gateway in front of a real PostgreSQL: rules name source columns and
// must hold whatever the query calls them, whatever format the client asks for; content
// detectors catch what no rule names; nothing masked reaches the client or the audit store.

const EMAILS = ['alice.liddell@example.com', 'bob.builder@example.org', 'carol.danvers@example.net'];
const SSNS = ['123-45-6789', '234-56-7890', '345-67-8901'];
const CARDS = ['4111 1111 1111 1111', '5555 5555 5555 4444', '3782 822463 10005'];
const NOTE_EMAIL = 'dan.leak@example.com';
const SCHEMA = `
  CREATE TABLE users (id int PRIMARY KEY, name text, email text, ssn text, salary numeric, born date,
    tags text[], profile jsonb, note text, country text);
  INSERT INTO users VALUES
    (1, 'Alice Zoë 🐇', '${EMAILS[0]}', '${SSNS[0]}', 1000.50, '1990-01-02', ARRAY['vip','${EMAILS[0]}'],
       '{"contact": "${EMAILS[0]}", "tier": 3}', 'call ${NOTE_EMAIL} about card 4012 8888 8888 1881', 'NL'),
    (2, 'Bob', '${EMAILS[1]}', '${SSNS[1]}', 2000, '1985-05-06', ARRAY['new'], '{"tier": 1}', 'nothing to see', 'DE'),
    (3, 'Carol', '${EMAILS[2]}', '${SSNS[2]}', 3000, NULL, NULL, NULL, NULL, 'NL'),
    (4, 'Nobody', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'FR');
  CREATE SCHEMA billing;
  CREATE TABLE billing.invoices (id int PRIMARY KEY, user_id int REFERENCES users, card_number text, amount numeric);
  INSERT INTO billing.invoices VALUES (10, 1, '${CARDS[0]}', 12.5), (11, 1, '${CARDS[1]}', 7), (12, 2, '${CARDS[2]}', 100);
  CREATE VIEW user_contacts AS SELECT id, email AS contact, name FROM users;
  CREATE VIEW contacts_2 AS SELECT id, contact AS c2 FROM user_contacts;
  CREATE VIEW contacts_3 AS SELECT c2 AS c3, id FROM contacts_2;
  CREATE VIEW lower_emails AS SELECT id, lower(email) AS e FROM users;
`;

const MASKING = [
  '{ name: emails, columns: [public.users.email], strategy: partial }',
  '{ name: ssn, columns: [public.users.ssn], strategy: hash }',
  '{ name: ssn-dba, columns: [public.users.ssn], strategy: partial, groups: [dba] }',
  '{ name: cards, columns: ["billing.*.card_number"], strategy: partial }',
  '{ name: salary, columns: [public.users.salary], strategy: redact }',
  '{ name: born, columns: [public.users.born], strategy: null }',
  '{ name: tags, columns: [public.users.tags], strategy: redact }',
  '{ name: profile, columns: [public.users.profile], strategy: redact, replacement: "(hidden)" }',
  '{ name: pii, detect: [email, card, ssn], strategy: redact }',
];

const RAW_VALUES = [...EMAILS, ...SSNS, ...CARDS, NOTE_EMAIL, '4012 8888 8888 1881'];

let db: TestDatabase;
let direct: pg.Client;
let gateway: TestGateway;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.url);
  direct = await db.connect();
  await direct.query(SCHEMA);
  gateway = await startTestGateway(db, {
    tls: 'off',
    api: true,
    masking: MASKING,
    policy: [
      '{ name: all, match: { groups: [ci, dba], resources: [testdb], flags: [no_where] }, effect: allow }',
      '{ name: deletes, match: { groups: [ci], kinds: [delete] }, effect: approve }',
    ],
  });
  client = await gateway.connect();
});

afterAll(async () => {
  await client?.end();
  await gateway?.close();
  await db?.drop();
});

/** Every value a row holds, as one string, to search for raw values. */
function flat(rows: readonly unknown[]): string {
  return JSON.stringify(rows);
}

function expectNoRawValue(text: string): void {
  for (const raw of RAW_VALUES) expect(text).not.toContain(raw);
  expect(text).not.toMatch(/alice\.liddell|bob\.builder|carol\.danvers|dan\.leak/);
}

describe('source-column rules', () => {
  it('mask a column whatever the query calls it', async () => {
    const { rows } = await client.query('SELECT email AS x, ssn AS y, id FROM users ORDER BY id');
    expect(rows[0].x).toMatch(/@example\.com$/);
    expect(rows[0].x).not.toContain('alice');
    expect(rows[0].y).toMatch(/^[0-9a-f]{32}$/);
    expect(rows.map((row) => row.id)).toEqual([1, 2, 3, 4]);
    // NULL stays NULL.
    expect(rows[3].x).toBeNull();
    expectNoRawValue(flat(rows));
  });

  it('hash deterministically, so equal values still join and count', async () => {
    const first = await client.query('SELECT ssn FROM users WHERE id = 1');
    const again = await client.query('SELECT u.ssn AS s FROM users u JOIN users v ON v.id = u.id WHERE u.id = 1');
    expect(again.rows[0].s).toBe(first.rows[0].ssn);
    const other = await client.query('SELECT ssn FROM users WHERE id = 2');
    expect(other.rows[0].ssn).not.toBe(first.rows[0].ssn);
  });

  it('follow views, views on views and expressions in views to the base column', async () => {
    const nested = await client.query('SELECT c3 FROM contacts_3 ORDER BY id');
    expect(nested.rows[0].c3).toMatch(/@example\.com$/);
    const derived = await client.query('SELECT e FROM lower_emails ORDER BY id');
    expect(derived.rows[0].e).not.toContain('alice');
    const contacts = await client.query('SELECT contact, name FROM user_contacts ORDER BY id');
    expect(contacts.rows[1].name).toBe('Bob');
    expectNoRawValue(flat([nested.rows, derived.rows, contacts.rows]));
  });

  it('treat a whole-row reference as touching every column of the table', async () => {
    const { rows } = await client.query('SELECT u FROM users u ORDER BY id');
    expectNoRawValue(flat(rows));
  });

  it('glob schema and table names (billing.*.card_number)', async () => {
    const { rows } = await client.query('SELECT card_number, amount FROM billing.invoices ORDER BY id');
    expect(rows[0].card_number).toMatch(/1111$/);
    expect(rows[0].card_number).not.toContain('4111');
    expect(rows.map((row) => row.amount)).toEqual(['12.5', '7', '100']);
  });

  it('give non-text columns NULL, arrays per element, jsonb a valid JSON value', async () => {
    const { rows } = await client.query('SELECT salary, born, tags, profile FROM users WHERE id = 1');
    expect(rows[0].salary).toBeNull();
    expect(rows[0].born).toBeNull();
    expect(rows[0].tags).toEqual(['[redacted]', '[redacted]']);
    expect(rows[0].profile).toBe('(hidden)');
  });

  it('scope rules by caller group: the DBA group sees partial SSNs, CI sees hashes', async () => {
    const dba = await gateway.connect({ password: gateway.dbaToken, user: 'dba' });
    try {
      const { rows } = await dba.query('SELECT ssn FROM users WHERE id = 1');
      expect(rows[0].ssn).toMatch(/6789$/);
      expect(rows[0].ssn).not.toContain('123-45');
    } finally {
      await dba.end();
    }
  });
});

describe('content detectors', () => {
  it('mask what no column rule names: computed columns, CTEs, UNION, notes, jsonb paths, arrays', async () => {
    // Computed from columns no column rule covers (values computed from a rule's columns are
    // refused by the masking guard instead: see exfiltration.test.ts).
    const contacts = `(VALUES ('{"contact": "${EMAILS[0]}"}'::jsonb), ('{"contact": "${SSNS[1]}"}')) v(j)`;
    const queries = [
      "SELECT note FROM users WHERE id = 1",
      "WITH c AS (SELECT note FROM users) SELECT note FROM c",
      "SELECT note FROM users UNION ALL SELECT 'x'",
      "SELECT note || '' AS e FROM users",
      `SELECT j->'contact' AS p, j->>'contact' AS q FROM ${contacts}`,
      `SELECT ARRAY[note, j->>'contact'] AS a FROM users, ${contacts}`,
      "SELECT 'write to ' || note AS m FROM users",
    ];
    for (const text of queries) {
      const { rows } = await client.query(text);
      expectNoRawValue(flat(rows));
    }
    const note = await client.query('SELECT note FROM users WHERE id = 1');
    expect(note.rows[0].note).toBe('call [redacted:email] about card [redacted:card]');
  });

  it('mask a multi-megabyte cell end to end', async () => {
    const filler = 'lorem ipsum dolor sit amet '.repeat(120_000);
    const { rows } = await client.query(`SELECT $1::text || '${EMAILS[0]}' || $1::text || '${SSNS[1]}' AS big`, [filler]);
    expect(rows[0].big.length).toBeGreaterThan(6_000_000);
    expectNoRawValue(rows[0].big);
    expect(rows[0].big).toContain('[redacted:email]');
    expect(rows[0].big).toContain('[redacted:ssn]');
  });
});

describe('binary results', () => {
  it('mask binary-format text, arrays and jsonb (node-postgres with binary: true)', async () => {
    // `binary` is a node-postgres query option its type definitions leave out.
    const query = { text: 'SELECT email, ssn, tags, note, ARRAY[note] AS a, profile FROM users WHERE id = $1', values: [1], binary: true } as pg.QueryConfig<number[]>;
    const result = await client.query(query);
    const text = flat(result.rows.map((row: Record<string, unknown>) => Object.values(row).map((value) => (Buffer.isBuffer(value) ? value.toString('latin1') : value))));
    expectNoRawValue(text);
    expect(String(result.rows[0].email)).toMatch(/@example\.com$/);
  });

  it('mask a prepared statement re-executed without a new RowDescription, in binary', async () => {
    const socket = await rawLogin({ host: gateway.host, port: gateway.port, database: gateway.resource, token: gateway.token });
    try {
      const first = await exchange(socket, [serialize.parse({ name: 'q', text: 'SELECT email, id FROM users WHERE id = $1', types: [23] }), serialize.describe({ type: 'S', name: 'q' }), serialize.sync()], 1);
      expect(first.some((frame) => frame.code === 0x54)).toBe(true);
      for (let i = 0; i < 50; i++) {
        const frames = await exchange(socket, [serialize.bind({ statement: 'q', values: [String((i % 3) + 1)], binary: true }), serialize.execute(), serialize.sync()], 1);
        const rows = frames.filter((frame) => frame.code === 0x44);
        expect(rows).toHaveLength(1);
        expect(frames.some((frame) => frame.code === 0x54)).toBe(false);
        expectNoRawValue(Buffer.concat(rows.map((frame) => frame.buffer.subarray(frame.start, frame.end))).toString('latin1'));
      }
    } finally {
      socket.destroy();
    }
  });

  it('refuses to mask in a client encoding other than UTF-8, rather than corrupt or miss values', async () => {
    const latin1 = await gateway.connect();
    latin1.on('error', () => {});
    await latin1.query("SET client_encoding = 'LATIN1'");
    await expect(latin1.query('SELECT email FROM users')).rejects.toThrow(/client_encoding UTF8/);
    await latin1.end().catch(() => {});
  });

  it('fails closed on rows of a statement never described', async () => {
    const socket = await rawLogin({ host: gateway.host, port: gateway.port, database: gateway.resource, token: gateway.token });
    const frames = await exchange(socket, [serialize.parse({ name: 'blind', text: 'SELECT email FROM users' }), serialize.bind({ statement: 'blind' }), serialize.execute(), serialize.sync()], 1, true);
    const bytes = Buffer.concat(frames.map((frame) => frame.buffer.subarray(frame.start, frame.end))).toString('latin1');
    expectNoRawValue(bytes);
    expect(frames.some((frame) => frame.code === 0x44)).toBe(false);
    expect(bytes).toContain('never described');
  });
});

describe.skipIf(!psql)('psql', () => {
  it('shows masked values in its table, for renamed columns, views and free text', async () => {
    const { stdout } = await promisify(execFile)(psql!, [gateway.url, '-X', '-c', 'SELECT email AS contact, ssn, note FROM users ORDER BY id', '-c', 'SELECT c3 FROM contacts_3'], {
      env: { ...process.env, PGPASSWORD: gateway.token, PGSSLMODE: 'disable' },
    });
    expect(stdout).toMatch(/contact\s+\|\s+ssn\s+\|\s+note/);
    expect(stdout).toContain('[redacted:email]');
    expect(stdout).toMatch(/\*+@example\.com/);
    expectNoRawValue(stdout);
  });
});

describe('COPY', () => {
  it('refuses COPY ... TO of masked columns for a masked caller, leaving the session usable', async () => {
    await expect(client.query('COPY users TO STDOUT')).rejects.toThrow(/denied: the statement carries masked column values where masking cannot follow them: .*masking rule/);
    await expect(client.query('COPY (SELECT email FROM users) TO STDOUT')).rejects.toThrow(/masking rule emails/);
    await expect(client.query('COPY users (id, name) TO STDOUT (FORMAT binary)')).rejects.toThrow(/binary COPY output is refused/);
    expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});

describe('what stays exact', () => {
  it('unmasked columns, counts, sums and joins equal PostgreSQL answered directly', async () => {
    const queries = [
      'SELECT id, name, country FROM users ORDER BY id',
      'SELECT country, count(*) AS n FROM users GROUP BY country ORDER BY country',
      'SELECT sum(amount) AS total, count(DISTINCT card_number) AS cards FROM billing.invoices',
      'SELECT u.name, i.amount FROM users u JOIN billing.invoices i ON i.user_id = u.id ORDER BY i.id',
      'SELECT count(*) AS n, count(email) AS e, count(DISTINCT ssn) AS s FROM users',
      "SELECT id, name FROM users WHERE email LIKE '%example.org'",
    ];
    for (const text of queries) {
      const [through, straight] = await Promise.all([client.query(text), direct.query(text)]);
      expect(through.rows, text).toEqual(straight.rows);
      expect(through.rows.length, text).toBeGreaterThan(0);
    }
  });
});

describe('the audit store', () => {
  it('records masked counts, a masked sample and masked statement text, and never a raw value', async () => {
    const session = await gateway.connect();
    await session.query(`SELECT id, email, note FROM users WHERE email <> '${EMAILS[1]}' ORDER BY id`);
    await session.end();
    await gateway.engine.store.flush();
    const [latest] = await gateway.engine.store.listSessions({ limit: 1 });
    const events = await gateway.engine.store.listEvents(latest!.id);
    const query = events.find((event) => event.kind === 'query' && String((event.payload as { text: string }).text).includes('ORDER BY id'));
    const payload = query!.payload as { text: string; masked: Record<string, number>; sample: { columns: string[]; rows: unknown[][] } };
    expect(payload.text).toContain('[redacted:email]');
    expect(payload.masked.emails).toBe(2);
    expect(payload.masked.pii).toBeGreaterThanOrEqual(2);
    expect(payload.sample.columns).toEqual(['id', 'email', 'note']);
    expect(payload.sample.rows.length).toBeGreaterThan(0);
    expectNoRawValue(JSON.stringify(events));

    // Nothing anywhere in the data directory holds a raw value either (SQLite file, WAL, keys).
    for (const file of await readdir(join(gateway.dir, 'data'), { recursive: true })) {
      const bytes = await readFile(join(gateway.dir, 'data', file)).catch(() => undefined);
      if (bytes) expectNoRawValue(bytes.toString('latin1'));
    }
  });
});

describe('approvers', () => {
  it('see the statement and its parameters with content detectors applied', async () => {
    const session = await gateway.connect();
    const requested = new Promise<{ id: string; statement: string; params?: readonly (string | null)[] }>((resolve) => {
      const off = gateway.engine.approvals.on('requested', (approval) => {
        off();
        resolve(approval);
      });
    });
    const held = session.query(`DELETE FROM users WHERE email = '${EMAILS[2]}' OR ssn = $1`, [SSNS[2]]).catch((error: Error) => error);
    const approval = await requested;
    expect(approval.statement).toContain('[redacted:email]');
    expect(approval.params).toEqual(['[redacted:ssn]']);
    expectNoRawValue(JSON.stringify(gateway.engine.approvals.list({})));
    gateway.engine.approvals.cancel(approval.id, 'test over');
    expect(await held).toBeInstanceOf(Error);
    await session.end();
  });
});

describe('masking.preview on a live query', () => {
  async function preview(token: string, input: unknown) {
    const response = await fetch(`${gateway.engine.api!.url}/api/v1/masking.preview`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(input),
    });
    return (await response.json()) as { ok: boolean; value?: { columns: string[]; rows: { value: string | null; rules: string[] }[][] }; error?: { code: string; message: string } };
  }

  const rules = [
    { name: 'ssn', columns: ['public.users.ssn'], strategy: 'redact' },
    { name: 'pii', detect: 'email', strategy: 'partial' },
  ];

  it('applies draft rules to the first rows, resolving columns as the gateway does', async () => {
    const answer = await preview(gateway.dbaToken, { rules, query: { resource: gateway.resource, sql: 'SELECT ssn AS renamed, note, id FROM users ORDER BY id -- first rows', limit: 2 } });
    expect(answer.error).toBeUndefined();
    expect(answer.value!.columns).toEqual(['renamed', 'note', 'id']);
    expect(answer.value!.rows).toHaveLength(2);
    expect(answer.value!.rows[0]![0]).toEqual({ value: '[redacted]', rules: ['ssn'] });
    expect(answer.value!.rows[0]![1]!.rules).toEqual(['pii']);
    expect(answer.value!.rows[0]![2]).toEqual({ value: '1', rules: [] });
    expectNoRawValue(JSON.stringify(answer.value!.rows.map((row) => row[0])));
  });

  it('refuses what is not one SELECT the caller may run, and non-admins', async () => {
    const write = await preview(gateway.dbaToken, { rules, query: { resource: gateway.resource, sql: 'DELETE FROM users' } });
    expect(write.error?.code).toBe('invalid_input');
    const unknown = await preview(gateway.dbaToken, { rules, query: { resource: 'nope', sql: 'SELECT 1' } });
    expect(unknown.error?.code).toBe('not_found');
    const notAdmin = await preview(gateway.token, { rules, query: { resource: gateway.resource, sql: 'SELECT 1' } });
    expect(notAdmin.error?.code).toBe('forbidden');
    const both = await preview(gateway.dbaToken, { rules, query: { resource: gateway.resource, sql: 'SELECT 1' }, sample: { columns: [{ name: 'a' }], rows: [] } });
    expect(both.error?.code).toBe('invalid_input');
  });
});

/** Sends `messages` and collects the frames answering them up to the `ready`-th ReadyForQuery (or the close). */
async function exchange(socket: Socket, messages: readonly Buffer[], ready: number, untilClose = false): Promise<Frame[]> {
  const reader = new MessageReader(CLIENT_LIMITS);
  const frames: Frame[] = [];
  return new Promise((resolve) => {
    let seen = 0;
    const finish = () => {
      socket.off('data', onData);
      socket.pause();
      resolve(frames);
    };
    const onData = (chunk: Buffer) => {
      reader.push(chunk);
      let frame: Frame | undefined;
      while ((frame = reader.next())) {
        frames.push(frame);
        if (frame.code === 0x5a && ++seen === ready && !untilClose) return finish();
      }
    };
    socket.on('data', onData);
    socket.once('close', finish);
    socket.resume();
    socket.write(Buffer.concat(messages));
  });
}
