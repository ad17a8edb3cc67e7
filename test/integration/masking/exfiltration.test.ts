import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../../proxy/approvals/approval-types.js';
import type { Identity } from '../../../proxy/identity/identity.js';
import { eventually } from '../../helpers/eventually.js';
import { findProgram } from '../../helpers/external-program.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { digitsInOrder, leaks } from './leak-search.js';

// The bypass suite of issue 6 (exfiltration guards). Column masking finds a column's rule by
// the source PostgreSQL names in RowDescription, and only a bare column reference keeps it: every
// other route (an expression, an aggregate, a set operation, a value moved server-side, a
// function body, an error or notice text, a notification, COPY) must end up masked, denied by a
// masking rule (42501) or held for approval. Each case below runs as a CI caller would, and
// EVERYTHING the client receives (row values, column names, command tags, every error and
// notice field, notification payloads, psql's stdout and stderr) is searched for the raw values
// and their simple encodings. Each case also runs on a direct connection, where it must leak:
// that proves the route is real and the search finds it.

const psql = findProgram('psql');

/** A note no content detector recognises: only the source-column rule stands between it and the caller. */
function canary(): string {
  return `zq-canary-${randomBytes(8).toString('hex').replace(/\d/g, (digit) => 'ghijklmnop'[Number(digit)]!)}`;
}

const USERS = [
  { id: 1, email: 'ada.quill@example.com', ssn: '287-65-4321', note: canary(), name: 'Ada' },
  { id: 2, email: 'ben.marsh@example.org', ssn: '401-23-5567', note: canary(), name: 'Ben' },
  { id: 3, email: 'cy.rowe@example.net', ssn: '532-18-7704', note: canary(), name: 'Cy' },
] as const;
const RAW_VALUES = USERS.flatMap((user) => [user.email, user.ssn, user.note]);
const [ADA, BEN] = USERS;

const SCHEMA = `
  CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE, ssn text, secret_note text, name text);
  CREATE UNIQUE INDEX users_ssn_unique ON users (ssn);
  INSERT INTO users VALUES ${USERS.map((u) => `(${u.id}, '${u.email}', '${u.ssn}', '${u.note}', '${u.name}')`).join(', ')};
  CREATE TABLE orders (id int PRIMARY KEY, user_id int REFERENCES users, amount numeric);
  INSERT INTO orders VALUES (10, 1, 12.5), (11, 1, 7), (12, 2, 100);
`;

const COLUMN_RULES = {
  ssn: '{ name: ssn, columns: [public.users.ssn], strategy: redact }',
  notes: '{ name: notes, columns: [public.users.secret_note], strategy: hash }',
  emails: '{ name: emails-col, columns: [public.users.email], strategy: partial }',
};
const CONTENT_RULES = ['{ name: emails, detect: email, strategy: redact }', '{ name: ssns, detect: ssn, strategy: redact }'];
const MASKING = [COLUMN_RULES.ssn, COLUMN_RULES.notes, COLUMN_RULES.emails, ...CONTENT_RULES];

const alice: Identity = { subject: 'alice', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' };

// ---------------------------------------------------------------------------------------------
// Running a case and collecting everything the client saw

/** A statement: simple protocol, or a protocol-level named prepared statement (node-postgres `name:`). */
type Step = string | { readonly text: string; readonly name: string; readonly values?: readonly string[] };

interface BypassCase {
  readonly name: string;
  readonly steps: readonly Step[];
  /** psql reads the steps as a script (COPY ... TO STDOUT, which node-postgres cannot read). */
  readonly psql?: boolean;
  /** BEGIN ... ROLLBACK around the steps: if nothing stops them they change the shared tables. */
  readonly rollback?: boolean;
  /** Only bare column references: the rows must come, masked by the source-column rules, not be refused. */
  readonly masked?: boolean;
}

interface Target {
  readonly client: pg.ClientConfig;
  readonly url: string;
  readonly env: Readonly<Record<string, string>>;
}

/** What one run produced. */
interface Run {
  /** Everything the client received, as text (values unescaped). */
  readonly output: string;
  /** Every result cell in order, concatenated: what a caller assembling a value piece by piece gets. */
  readonly assembled: string;
  /** Per statement: `ok:<rows>` or the SQLSTATE it failed with (psql: the SQLSTATEs of its errors). */
  readonly shape: readonly string[];
  /** Errors with SQLSTATE 42501 whose message names masking. */
  readonly maskingDenials: readonly string[];
  /** Whether a `waiting for approval` notice arrived. */
  readonly held: boolean;
}

/** Everything received so far, readable while a statement still runs (a held one). */
class Capture {
  readonly lines: string[] = [];
  readonly cells: string[] = [];
  readonly shape: string[] = [];
  readonly denials: string[] = [];

  text(): string {
    return this.lines.join('\n');
  }

  run(): Run {
    const output = this.text();
    return { output, assembled: this.cells.join(''), shape: [...this.shape], maskingDenials: [...this.denials], held: /waiting for approval/.test(output) };
  }
}

/** Every field of an error or notice, unescaped: message, detail, hint, where, internal query, ... */
function fields(message: object): string {
  const own = Object.entries(message).filter(([, value]) => typeof value === 'string' || typeof value === 'number');
  const text = message instanceof Error ? message.message : '';
  return [text, ...own.map(([key, value]) => `${key}=${String(value)}`)].join(' | ');
}

// Every value as PostgreSQL's text: no parsing into numbers, arrays, Buffers or objects.
const RAW_TEXT = { getTypeParser: () => (value: string) => value } as unknown as pg.CustomTypesConfig;

async function runNodePostgres(target: Target, steps: readonly Step[], capture = new Capture()): Promise<Run> {
  const client = new pg.Client({ ...target.client, types: RAW_TEXT, query_timeout: 20_000 });
  client.on('notice', (notice) => capture.lines.push(`notice: ${fields(notice)}`));
  client.on('notification', (note) => capture.lines.push(`notification: ${note.channel} ${note.payload ?? ''}`));
  client.on('error', (error) => capture.lines.push(`connection error: ${fields(error)}`));
  await client.connect();
  try {
    for (const step of steps) {
      const query: pg.QueryArrayConfig = typeof step === 'string' ? { text: step, rowMode: 'array' } : { text: step.text, name: step.name, values: [...(step.values ?? [])], rowMode: 'array' };
      try {
        // A simple-protocol string of several statements answers one result per statement.
        const answer: pg.QueryArrayResult<unknown[]> | pg.QueryArrayResult<unknown[]>[] = await client.query(query);
        const results: pg.QueryArrayResult<unknown[]>[] = Array.isArray(answer) ? answer : [answer];
        let rows = 0;
        for (const result of results) {
          capture.lines.push(`columns: ${(result.fields ?? []).map((field) => field.name).join(', ')}`, `tag: ${result.command} ${result.rowCount ?? ''}`);
          for (const row of result.rows) {
            const cells = row.map((cell) => (cell === null ? '' : String(cell)));
            capture.lines.push(`row: ${cells.join('\t')}`);
            capture.cells.push(...cells);
          }
          rows += result.rows.length;
        }
        capture.shape.push(`ok:${rows}`);
      } catch (error) {
        const database = error as pg.DatabaseError;
        capture.lines.push(`error: ${fields(database)}`);
        capture.shape.push(database.code ?? 'no-sqlstate');
        if (database.code === '42501' && /mask/i.test(database.message)) capture.denials.push(database.message);
        // A timed-out or broken connection answers nothing more.
        if (database.code === undefined) break;
      }
    }
  } finally {
    await client.end().catch(() => {});
  }
  return capture.run();
}

async function runPsql(target: Target, script: string): Promise<Run> {
  const child = spawn(psql!, ['-X', '-q', '-v', 'ON_ERROR_STOP=0', '-v', 'VERBOSITY=verbose', '-f', '-', target.url], {
    env: { ...process.env, ...target.env, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  child.stdin.end(script);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  const output = `stdout:\n${stdout}\nstderr:\n${stderr}`;
  const errors = [...stderr.matchAll(/ERROR:\s+([0-9A-Z]{5}): (.*)/g)];
  return {
    output,
    assembled: stdout,
    shape: [...errors.map((match) => match[1]!), `exit:${code}`],
    maskingDenials: errors.filter((match) => match[1] === '42501' && /mask/i.test(match[2]!)).map((match) => match[2]!),
    held: /waiting for approval/.test(stderr),
  };
}

function withTransaction(c: BypassCase): readonly Step[] {
  return c.rollback ? ['BEGIN', ...c.steps, 'ROLLBACK'] : c.steps;
}

function runCase(target: Target, c: BypassCase): Promise<Run> {
  const steps = withTransaction(c);
  if (c.psql) return runPsql(target, steps.map((step) => `${typeof step === 'string' ? step : step.text};\n`).join(''));
  return runNodePostgres(target, steps);
}

/** Every encoding of every raw value found in a run: empty when nothing leaked. */
function leaksIn(run: Run): string[] {
  const found: string[] = [];
  for (const raw of RAW_VALUES) {
    const hits = new Set([...leaks(run.output, raw), ...leaks(run.assembled, raw)]);
    if (/^\d{3}-\d{2}-\d{4}$/.test(raw) && digitsInOrder(run.assembled, raw)) hits.add('digits in order');
    if (hits.size > 0) found.push(`${raw} (${[...hits].join(', ')})`);
  }
  return found;
}

/** What the client saw, on one line, for failure messages. */
function seen(run: Run): string {
  return run.output.replace(/\s+/g, ' ').slice(0, 200);
}

// ---------------------------------------------------------------------------------------------
// The bypass cases: every one leaks on a direct connection

const CASES: readonly BypassCase[] = [
  // Expressions in the select list
  { name: 'lower(secret_note)', steps: ['SELECT id, lower(secret_note) AS v FROM users'] },
  { name: "secret_note || ''", steps: ["SELECT secret_note || '' AS v FROM users"] },
  { name: "ssn || '' (an SSN the content detector must still catch)", steps: ["SELECT ssn || '' AS v FROM users"] },
  { name: 'a cast: secret_note::varchar(100)', steps: ['SELECT secret_note::varchar(100) AS v FROM users'] },
  { name: 'md5(secret_note)', steps: ['SELECT md5(secret_note) AS v FROM users'] },
  { name: 'sha256(secret_note::bytea)', steps: ['SELECT sha256(secret_note::bytea) AS v FROM users'] },
  { name: "encode(convert_to(secret_note, 'UTF8'), 'hex')", steps: ["SELECT encode(convert_to(secret_note, 'UTF8'), 'hex') AS v FROM users"] },
  { name: "encode(secret_note::bytea, 'base64')", steps: ["SELECT encode(secret_note::bytea, 'base64') AS v FROM users"] },
  { name: 'reverse(ssn)', steps: ['SELECT reverse(ssn) AS v FROM users'] },
  { name: "translate(ssn, '-', '') (digits only)", steps: ["SELECT translate(ssn, '-', '') AS v FROM users"] },
  { name: "translate(email, '@.', '  ') (no longer email-shaped)", steps: ["SELECT translate(email, '@.', '  ') AS v FROM users"] },
  { name: "regexp_replace(secret_note, '-', '_', 'g')", steps: ["SELECT regexp_replace(secret_note, '-', '_', 'g') AS v FROM users"] },
  { name: "format('%s', secret_note)", steps: ["SELECT format('%s', secret_note) AS v FROM users"] },
  { name: "concat_ws(',', id, secret_note)", steps: ["SELECT concat_ws(',', id, secret_note) AS v FROM users"] },
  { name: 'CASE WHEN ... THEN secret_note END', steps: ['SELECT CASE WHEN id > 0 THEN secret_note END AS v FROM users'] },
  { name: 'secret_note COLLATE "C"', steps: ['SELECT secret_note COLLATE "C" AS v FROM users'] },
  { name: "string_to_array(ssn, '-')", steps: ["SELECT string_to_array(ssn, '-') AS v FROM users"] },
  { name: 'a cast to bytea: secret_note::bytea', steps: ['SELECT secret_note::bytea AS v FROM users'] },
  // Aggregates and window functions
  { name: "string_agg(secret_note, ',')", steps: ["SELECT string_agg(secret_note, ',') AS v FROM users"] },
  { name: 'array_agg(secret_note)', steps: ['SELECT array_agg(secret_note) AS v FROM users'] },
  { name: 'max(secret_note)', steps: ['SELECT max(secret_note) AS v FROM users'] },
  { name: 'json_agg(secret_note)', steps: ['SELECT json_agg(secret_note) AS v FROM users'] },
  { name: 'mode() WITHIN GROUP (ORDER BY ssn) (an SSN the content detector must still catch)', steps: ['SELECT mode() WITHIN GROUP (ORDER BY ssn) AS v FROM users'] },
  { name: 'first_value(secret_note) OVER (ORDER BY id)', steps: ['SELECT id, first_value(secret_note) OVER (ORDER BY id) AS v FROM users'] },
  { name: 'lag(secret_note) OVER (ORDER BY id)', steps: ['SELECT id, lag(secret_note) OVER (ORDER BY id) AS v FROM users'] },
  // Whole rows and JSON
  { name: 'to_jsonb(u)', steps: ['SELECT to_jsonb(u) AS v FROM users u'] },
  { name: 'row_to_json(u)', steps: ['SELECT row_to_json(u) AS v FROM users u'] },
  { name: 'u::text', steps: ['SELECT u::text AS v FROM users u'] },
  { name: '(u).secret_note: a field of the whole row', steps: ['SELECT (u).secret_note FROM users u'] },
  { name: 'jsonb_agg(u)', steps: ['SELECT jsonb_agg(u) AS v FROM users u'] },
  { name: "json_build_object('n', secret_note)", steps: ["SELECT json_build_object('n', secret_note) AS v FROM users"] },
  { name: 'xmlelement(name x, secret_note)', steps: ['SELECT xmlelement(name x, secret_note) AS v FROM users'] },
  { name: 'ROW(id, ssn)', steps: ['SELECT ROW(id, ssn) AS v FROM users'] },
  // Set operations
  { name: "UNION: SELECT secret_note ... UNION SELECT 'x'", steps: ["SELECT secret_note FROM users UNION SELECT 'x'"] },
  { name: 'UNION ALL with a NULL arm', steps: ['SELECT secret_note FROM users UNION ALL SELECT NULL'] },
  { name: 'INTERSECT', steps: ['SELECT secret_note FROM users INTERSECT SELECT secret_note FROM users'] },
  { name: 'EXCEPT', steps: ["SELECT secret_note FROM users EXCEPT SELECT 'x'"] },
  {
    name: 'a recursive CTE',
    steps: ['WITH RECURSIVE r(v, n) AS (SELECT secret_note, 1 FROM users UNION ALL SELECT v, n + 1 FROM r WHERE n < 2) SELECT v FROM r'],
  },
  // Subqueries, joins, set-returning functions
  { name: 'a scalar subquery in the select list', steps: ['SELECT id, (SELECT secret_note FROM users v WHERE v.id = u.id) AS v FROM users u'] },
  { name: 'ARRAY(SELECT secret_note ...)', steps: ['SELECT ARRAY(SELECT secret_note FROM users) AS v'] },
  { name: 'FULL JOIN USING (secret_note): the merged column', steps: ['SELECT secret_note FROM users a FULL JOIN users b USING (secret_note)'] },
  { name: 'LATERAL unnest(ARRAY[secret_note])', steps: ['SELECT x FROM users, LATERAL unnest(ARRAY[secret_note]) AS x'] },
  { name: "LATERAL regexp_split_to_table(ssn, '-')", steps: ["SELECT part FROM users, LATERAL regexp_split_to_table(ssn, '-') AS part WHERE id = 1"] },
  { name: 'substr(ssn, i, 1) over generate_series, one character per row', steps: ['SELECT substr(ssn, i, 1) AS c FROM users, generate_series(1, 11) AS i WHERE id = 1 ORDER BY i'] },
  {
    name: "string_agg(substr(secret_note, i, 1), '' ORDER BY i): character by character",
    steps: ["SELECT string_agg(substr(secret_note, i, 1), '' ORDER BY i) AS v FROM users, generate_series(1, 40) AS i WHERE id = 1"],
  },
  // Errors that quote the value
  { name: 'a cast error in the select list: ssn::int', steps: ['SELECT ssn::int FROM users'] },
  { name: 'a cast error in WHERE quotes a note no detector knows: secret_note::int', steps: ['SELECT id FROM users WHERE secret_note::int > 0'] },
  { name: 'a cast error in ORDER BY: secret_note::date', steps: ['SELECT id FROM users ORDER BY secret_note::date'] },
  {
    name: 'a unique violation on email from INSERT ... SELECT: Key (email)=(...)',
    rollback: true,
    steps: ['INSERT INTO users (id, email) SELECT id + 100, email FROM users'],
  },
  {
    name: 'a unique violation on ssn from UPDATE ... SET ssn = (SELECT ssn ...)',
    rollback: true,
    steps: ['UPDATE users SET ssn = (SELECT ssn FROM users WHERE id = 2) WHERE id = 1'],
  },
  {
    name: 'a unique violation detail echoing a value the client wrote (content detectors on errors)',
    rollback: true,
    steps: [`INSERT INTO users (id, email) VALUES (100, '${ADA.email}')`],
  },
  // Moving the value server-side, then reading it unmasked
  { name: 'CREATE TEMP TABLE AS, then SELECT', steps: ['CREATE TEMP TABLE copied AS SELECT id, secret_note FROM users', 'SELECT * FROM copied'] },
  { name: 'SELECT INTO, then SELECT', steps: ['SELECT secret_note INTO TEMP copied_note FROM users', 'SELECT * FROM copied_note'] },
  { name: 'INSERT ... SELECT into a temp table, then SELECT', steps: ['CREATE TEMP TABLE sink (v text)', 'INSERT INTO sink SELECT secret_note FROM users', 'SELECT v FROM sink'] },
  {
    name: 'INSERT ... VALUES ((SELECT secret_note ...)) into a temp table, then SELECT',
    steps: ['CREATE TEMP TABLE sink2 (v text)', 'INSERT INTO sink2 VALUES ((SELECT secret_note FROM users WHERE id = 1))', 'SELECT v FROM sink2'],
  },
  { name: 'UPDATE SET name = secret_note, then SELECT name', rollback: true, steps: ['UPDATE users SET name = secret_note WHERE id = 1', 'SELECT name FROM users WHERE id = 1'] },
  { name: 'CREATE TEMP VIEW, then SELECT from it', steps: ['CREATE TEMP VIEW peek AS SELECT id, secret_note AS x FROM users', 'SELECT x FROM peek'] },
  {
    name: 'CREATE MATERIALIZED VIEW, then SELECT from it',
    rollback: true,
    steps: ['CREATE MATERIALIZED VIEW peek_mv AS SELECT secret_note AS x FROM users', 'SELECT x FROM peek_mv'],
  },
  {
    name: 'ALTER TABLE ADD COLUMN ... GENERATED ... STORED, then SELECT it',
    rollback: true,
    steps: ["ALTER TABLE users ADD COLUMN g text GENERATED ALWAYS AS (secret_note || '') STORED", 'SELECT g FROM users'],
  },
  {
    name: 'ALTER TABLE ADD COLUMN ... GENERATED ... VIRTUAL, then SELECT it',
    rollback: true,
    steps: ["ALTER TABLE users ADD COLUMN gv text GENERATED ALWAYS AS (ssn || '') VIRTUAL", 'SELECT gv FROM users'],
  },
  { name: 'ALTER TABLE RENAME COLUMN secret_note TO x, then SELECT x', rollback: true, steps: ['ALTER TABLE users RENAME COLUMN secret_note TO x', 'SELECT x FROM users'] },
  { name: 'ALTER TABLE users RENAME TO people, then SELECT from people', rollback: true, steps: ['ALTER TABLE users RENAME TO people', 'SELECT secret_note FROM people'] },
  { name: 'ALTER SCHEMA public RENAME, then SELECT from the renamed schema', rollback: true, steps: ['ALTER SCHEMA public RENAME TO pub2', 'SELECT secret_note FROM pub2.users'] },
  { name: 'CREATE TABLE AS EXECUTE of a prepared bare select, then SELECT from the copy', rollback: true, steps: ['PREPARE notes_p AS SELECT secret_note FROM users', 'CREATE TEMP TABLE notes_copy AS EXECUTE notes_p', 'SELECT * FROM notes_copy'] },
  // Function bodies and DO blocks
  {
    name: 'a temporary SQL function returning the column',
    steps: ['CREATE FUNCTION pg_temp.notes() RETURNS SETOF text LANGUAGE sql AS $$ SELECT secret_note FROM users $$', 'SELECT pg_temp.notes() AS v'],
  },
  {
    name: 'a temporary PL/pgSQL function returning the column',
    steps: [
      "CREATE FUNCTION pg_temp.all_notes() RETURNS text LANGUAGE plpgsql AS $$ DECLARE v text; BEGIN SELECT string_agg(secret_note, ',') INTO v FROM users; RETURN v; END $$",
      'SELECT pg_temp.all_notes() AS v',
    ],
  },
  {
    name: 'a user function in WHERE that raises a notice with its argument',
    steps: [
      "CREATE FUNCTION pg_temp.peek(t text) RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'seen %', t; RETURN true; END $$",
      'SELECT id FROM users WHERE pg_temp.peek(secret_note)',
    ],
  },
  { name: 'DO block: RAISE NOTICE of each note', steps: ["DO $$ DECLARE r record; BEGIN FOR r IN SELECT secret_note FROM users LOOP RAISE NOTICE '%', r.secret_note; END LOOP; END $$"] },
  { name: 'DO block: RAISE EXCEPTION with the value', steps: ["DO $$ BEGIN RAISE EXCEPTION 'got %', (SELECT secret_note FROM users WHERE id = 1); END $$"] },
  {
    name: 'DO block: RAISE NOTICE ... USING DETAIL and HINT',
    steps: ["DO $$ BEGIN RAISE NOTICE 'look' USING DETAIL = (SELECT secret_note FROM users WHERE id = 2), HINT = (SELECT email FROM users WHERE id = 2); END $$"],
  },
  // Side effects that carry the value out
  { name: 'pg_notify with the value while LISTENing', steps: ['LISTEN leak', "SELECT pg_notify('leak', secret_note) FROM users"] },
  { name: 'pg_notify called from WHERE while LISTENing', steps: ['LISTEN leak', "SELECT id FROM users WHERE pg_notify('leak', ssn) IS NULL"] },
  {
    name: 'set_config in the select list, then current_setting',
    steps: ["SELECT length(set_config('sluice.leak', secret_note, false)) AS n FROM users WHERE id = 1", "SELECT current_setting('sluice.leak') AS v"],
  },
  { name: 'set_config in WHERE, then SHOW', steps: ["SELECT id FROM users WHERE set_config('sluice.leak', secret_note, false) <> '' AND id = 2", 'SHOW sluice.leak'] },
  // COPY, through psql
  { name: 'COPY users TO STDOUT (psql)', psql: true, steps: ['COPY users TO STDOUT'] },
  { name: 'COPY (SELECT secret_note FROM users) TO STDOUT (psql)', psql: true, steps: ['COPY (SELECT secret_note FROM users) TO STDOUT'] },
  { name: 'COPY (SELECT ssn, email ...) TO STDOUT as CSV with a header (psql)', psql: true, steps: ['COPY (SELECT id, ssn, email FROM users) TO STDOUT WITH (FORMAT csv, HEADER)'] },
  { name: 'DO block RAISE NOTICE read by psql (stderr)', psql: true, steps: ["DO $$ BEGIN RAISE NOTICE 'n=%', (SELECT string_agg(secret_note, ',') FROM users); END $$"] },
  // Prepared statements and cursors
  { name: 'SQL PREPARE + EXECUTE of a derived query', steps: ['PREPARE derived AS SELECT upper(secret_note) AS v FROM users', 'EXECUTE derived'] },
  { name: 'SQL PREPARE + EXECUTE of a bare select (masked, rows present)', masked: true, steps: ['PREPARE bare AS SELECT id, secret_note, ssn, email FROM users', 'EXECUTE bare'] },
  {
    name: 'a protocol-level prepared statement (node-postgres name:) of a derived query, executed twice',
    steps: [
      { name: 'leak_lower', text: 'SELECT lower(secret_note) AS v FROM users' },
      { name: 'leak_lower', text: 'SELECT lower(secret_note) AS v FROM users' },
    ],
  },
  { name: 'a protocol-level prepared statement with a parameter: secret_note || $1', steps: [{ name: 'leak_concat', text: 'SELECT secret_note || $1 AS v FROM users', values: [''] }] },
  {
    name: 'DECLARE CURSOR + FETCH of a derived query',
    steps: ['BEGIN', 'DECLARE leaky CURSOR FOR SELECT reverse(secret_note) AS v FROM users', 'FETCH ALL FROM leaky', 'COMMIT'],
  },
  {
    name: 'DECLARE CURSOR + FETCH of a bare select (masked, rows present)',
    masked: true,
    steps: ['BEGIN', 'DECLARE bare CURSOR FOR SELECT id, secret_note, ssn, email FROM users', 'FETCH 2 FROM bare', 'FETCH ALL FROM bare', 'COMMIT'],
  },
];

// ---------------------------------------------------------------------------------------------

let db: TestDatabase;
let gateway: TestGateway;
let direct: Target;
let guarded: Target;
/** The outcome of each case on the direct connection, to tell a masked run from a broken one. */
const directShapes = new Map<string, readonly string[]>();
/** Approvals requested on the main gateway: a hold counts as guarded, and is denied at once. */
const held: Approval[] = [];

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  const admin = await db.connect();
  await admin.query(SCHEMA);
  gateway = await startTestGateway(db, { tls: 'off', masking: MASKING, approvals: '{ timeout: 20s, quorum: 1 }' });
  gateway.engine.approvals.on('requested', (approval) => {
    held.push(approval);
    setTimeout(() => {
      try {
        gateway.engine.approvals.decide(approval.id, alice, { decision: 'deny', reason: 'exfiltration suite: held counts as guarded' });
      } catch {
        // Already ended (the client went away): nothing left to deny.
      }
    }, 0);
  });
  direct = { client: { host: db.host, port: db.port, user: db.user, password: db.password, database: db.database }, url: db.url, env: {} };
  guarded = targetOf(gateway);
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

function targetOf(on: TestGateway): Target {
  return { client: on.clientConfig(), url: on.url, env: { PGPASSWORD: on.token } };
}

describe('the bypass suite is real', () => {
  it('has at least 45 cases', () => {
    expect(CASES.length).toBeGreaterThanOrEqual(45);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it('leak() finds each simple encoding of a value and nothing in unrelated text', () => {
    const note = ADA.note;
    expect(leaks(`x ${note.toUpperCase()} y`, note)).toContain('upper');
    expect(leaks(Buffer.from(note).toString('base64'), note)).toContain('base64');
    expect(leaks(`\\x${Buffer.from(note).toString('hex')}`, note)).toContain('hex');
    expect(leaks([...note].reverse().join(''), note)).toContain('reversed');
    expect(leaks('287 65 4321', ADA.ssn)).toContain('without separators');
    expect(leaks(encodeURIComponent(ADA.email), ADA.email)).toContain('url-encoded');
    expect(leaks('[redacted] 3f2a9c[redacted:ssn] ****@example.com', ADA.ssn)).toEqual([]);
    expect(leaks('[redacted] 3f2a9c[redacted:ssn] ****@example.com', ADA.email)).toEqual([]);
  });

  for (const c of CASES) {
    it.skipIf(c.psql && !psql)(`the search finds the raw value in an unguarded connection: ${c.name}`, async () => {
      const run = await runCase(direct, c);
      directShapes.set(c.name, run.shape);
      expect(leaksIn(run), `the query should leak when run directly; it returned: ${seen(run)}`).not.toEqual([]);
    });
  }
});

describe('through the gateway, every route ends masked, denied by masking, or held', () => {
  for (const c of CASES) {
    it.skipIf(c.psql && !psql)(c.name, async () => {
      const before = held.length;
      const run = await runCase(guarded, c);
      const found = leaksIn(run);
      expect(found, `leaked ${found.join('; ')}; the client saw: ${seen(run)}`).toEqual([]);
      const denied = run.maskingDenials.length > 0;
      const wasHeld = run.held || held.length > before;
      if (c.masked || (!denied && !wasHeld)) {
        // Masked in place: it must have run as it runs directly (same rows, same errors), not
        // merely broken on the way.
        const expected = directShapes.get(c.name) ?? (await runCase(direct, c)).shape;
        expect(run.shape, `neither denied (42501 naming masking) nor held, and not the direct run's outcome; the client saw: ${seen(run)}`).toEqual(expected);
      }
    });
  }
});

describe('probes masking documents as allowed (predicates)', () => {
  it('an error-based probe, 1/(CASE WHEN ssn = <a guess> THEN 0 ELSE 1 END), shows no raw value', async () => {
    // Like WHERE ssn LIKE '2%', it answers "is this the value?" for a guess the caller supplies:
    // a documented probing channel, not a way to read an unknown value. In WHERE it is a
    // predicate and runs (division by zero tells a match); in the select list the gateway may
    // refuse it as an expression over a masked column. Either way no raw value may come back.
    const guess = ADA.ssn;
    const run = await runNodePostgres(guarded, [
      `SELECT id FROM users WHERE 1/(CASE WHEN ssn = '${guess}' THEN 0 ELSE 1 END) = 1`,
      `SELECT 1/(CASE WHEN ssn = '${guess}' THEN 0 ELSE 1 END) AS one FROM users`,
    ]);
    expect(run.shape[0], seen(run)).toBe('22012');
    expect(leaksIn(run), run.output.replace(/\s+/g, ' ').slice(0, 600)).toEqual([]);
  });

  it('WHERE ssn LIKE returns only the unmasked columns asked for', async () => {
    const run = await runNodePostgres(guarded, ["SELECT id FROM users WHERE ssn LIKE '4%'", "SELECT count(*) FROM users WHERE secret_note LIKE 'zq-%'"]);
    expect(run.shape).toEqual(['ok:1', 'ok:1']);
    expect(run.output).toContain('columns: id\n');
    expect(run.output).toContain('row: 2\n');
    expect(run.output).toContain('row: 3');
    expect(leaksIn(run)).toEqual([]);
  });
});

describe('derived: approve', () => {
  let approving: TestGateway;
  beforeAll(async () => {
    approving = await startTestGateway(db, {
      tls: 'off',
      approvals: '{ timeout: 20s, quorum: 1 }',
      masking: [COLUMN_RULES.ssn, '{ name: notes, columns: [public.users.secret_note], strategy: hash, derived: approve }', COLUMN_RULES.emails, ...CONTENT_RULES],
    });
  });
  afterAll(async () => approving?.close());

  it('holds a derived query on the note until an approver decides; denied, nothing leaks', async () => {
    const requested = new Promise<Approval>((resolve) => {
      const off = approving.engine.approvals.on('requested', (approval) => {
        off();
        resolve(approval);
      });
    });
    const capture = new Capture();
    const running = runNodePostgres(targetOf(approving), ['SELECT id, lower(secret_note) AS v FROM users'], capture);
    const approval = await Promise.race([requested, running.then(() => undefined)]);
    if (approval === undefined) {
      const run = await running;
      expect.fail(`the derived query was not held; leaked ${leaksIn(run).join('; ') || 'nothing'}; the client saw: ${seen(run)}`);
    }
    await eventually(async () => expect(capture.text()).toContain(`waiting for approval ${approval.id}`), 5_000);
    approving.engine.approvals.decide(approval.id, alice, { decision: 'deny', reason: 'no reading notes from CI' });
    const run = await running;
    expect(run.output).toMatch(new RegExp(`approval ${approval.id} denied by alice`));
    expect(leaksIn(run), seen(run)).toEqual([]);
  });

  it('still denies a derived SSN query, whose rule keeps derived: deny', async () => {
    const run = await runNodePostgres(targetOf(approving), ['SELECT reverse(ssn) AS v FROM users']);
    expect(leaksIn(run), seen(run)).toEqual([]);
    expect(run.maskingDenials, seen(run)).not.toEqual([]);
  });
});

describe('derived: detectors', () => {
  let detecting: TestGateway;
  beforeAll(async () => {
    detecting = await startTestGateway(db, {
      tls: 'off',
      masking: [
        '{ name: ssn, columns: [public.users.ssn], strategy: redact, derived: detectors }',
        '{ name: notes, columns: [public.users.secret_note], strategy: hash, derived: detectors }',
        COLUMN_RULES.emails,
        ...CONTENT_RULES,
      ],
    });
  });
  afterAll(async () => detecting?.close());

  it('lets a derived value no detector recognises through: the trade-off this setting documents', async () => {
    const run = await runNodePostgres(targetOf(detecting), ['SELECT upper(secret_note) AS v FROM users ORDER BY id']);
    expect(run.maskingDenials).toEqual([]);
    expect(run.output).toContain(`row: ${ADA.note.toUpperCase()}`);
  });

  it('redacts a derived value the SSN detector recognises', async () => {
    const run = await runNodePostgres(targetOf(detecting), ["SELECT ssn || '' AS v FROM users ORDER BY id"]);
    expect(run.shape).toEqual(['ok:3']);
    expect(run.output).toContain('row: [redacted:ssn]');
    expect(leaksIn(run), seen(run)).toEqual([]);
  });

  it('still masks the bare column by its source rule', async () => {
    const run = await runNodePostgres(targetOf(detecting), ['SELECT secret_note, ssn FROM users ORDER BY id']);
    expect(run.shape).toEqual(['ok:3']);
    expect(leaksIn(run), seen(run)).toEqual([]);
  });
});

describe('what the CI caller can still do', () => {
  it('reads unmasked columns, counts (count(ssn) included), joins on id and filters on masked columns exactly as PostgreSQL answers', async () => {
    const queries = [
      'SELECT id, name FROM users ORDER BY id',
      'SELECT count(*) AS n, count(ssn) AS s, count(DISTINCT secret_note) AS d FROM users',
      'SELECT u.id, u.name, o.amount FROM users u JOIN orders o ON o.user_id = u.id ORDER BY o.id',
      "SELECT id FROM users WHERE ssn LIKE '5%' ORDER BY id",
      "SELECT id FROM users WHERE email LIKE '%.org' OR secret_note IS NULL ORDER BY id",
      'SELECT user_id, sum(amount) AS total FROM orders GROUP BY user_id ORDER BY user_id',
    ];
    const through = await runNodePostgres(guarded, queries);
    const straight = await runNodePostgres(direct, queries);
    expect(through.shape, seen(through)).toEqual(straight.shape);
    expect(through.output).toBe(straight.output);
    expect(through.shape.every((step) => step.startsWith('ok:') && step !== 'ok:0')).toBe(true);
  });

  it('gets masked values from a bare SELECT of masked columns', async () => {
    const client = await gateway.connect();
    try {
      const { rows } = await client.query<{ id: number; ssn: string; secret_note: string; email: string }>('SELECT id, ssn, secret_note, email FROM users ORDER BY id');
      expect(rows.map((row) => row.id)).toEqual([1, 2, 3]);
      expect(rows[0]!.ssn).toBe('[redacted]');
      expect(rows[0]!.secret_note).toMatch(/^[0-9a-f]{32}$/);
      expect(rows[1]!.email).toMatch(/^\*+@example\.org$/);
      const text = JSON.stringify(rows);
      for (const raw of RAW_VALUES) expect(leaks(text, raw), raw).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('keeps the session usable after a masking denial', async () => {
    const run = await runNodePostgres(guarded, ['SELECT lower(secret_note) FROM users', 'SELECT name FROM users WHERE id = 2']);
    expect(run.shape.at(-1)).toBe('ok:1');
    expect(run.output).toContain(`row: ${BEN.name}`);
  });
});
