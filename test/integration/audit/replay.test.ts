import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../../proxy/approvals/approval-types.js';
import type { ParsedArgs } from '../../../proxy/cli/command.js';
import { replayCommand, runReplay } from '../../../proxy/cli/commands/replay.js';
import type { CliIo } from '../../../proxy/cli/io.js';
import type { Identity } from '../../../proxy/identity/identity.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

// `sluice replay` on a session a real gateway recorded: what an auditor sees, end to end.

const POLICY = [
  '{ name: ci-read, match: { groups: [ci], resources: [testdb], kinds: [select] }, effect: allow }',
  '{ name: ci-writes, match: { groups: [ci], resources: [testdb], kinds: [update] }, effect: approve }',
  '{ name: ci-no-ddl, match: { groups: [ci], kinds: [ddl] }, effect: deny, reason: "CI jobs may not change the schema" }',
];
const MASKING = ['{ name: emails, columns: [public.users.email], strategy: redact }'];

const alice: Identity = { subject: 'alice', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' };

let db: TestDatabase;
let gateway: TestGateway;
let sessionId: string;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  const admin = await db.connect();
  await admin.query('CREATE TABLE users (id int PRIMARY KEY, name text, email text)');
  await admin.query("INSERT INTO users VALUES (1, 'Alice', 'alice@example.com'), (2, 'Bob', NULL), (3, 'Carol', 'carol@example.net')");
  await admin.end();
  gateway = await startTestGateway(db, { tls: 'off', policy: POLICY, masking: MASKING, approvals: '{ timeout: 20s, quorum: 1 }' });

  // A psql-like session: a read with a masked column, a denied DDL, a held UPDATE, a typo.
  const client = await gateway.connect({ application_name: 'replay-test' });
  await client.query('SELECT id, name, email\nFROM users ORDER BY id');
  await expect(client.query('DROP TABLE users')).rejects.toThrow(/ci-no-ddl/);
  const requested = new Promise<Approval>((resolve) => {
    const off = gateway.engine.approvals.on('requested', (approval) => {
      off();
      resolve(approval);
    });
  });
  const update = client.query("UPDATE users SET name = $1 WHERE email LIKE '%.com'", ['Alice L.']);
  gateway.engine.approvals.decide((await requested).id, alice, { decision: 'approve', reason: 'ticket 42' });
  expect((await update).rowCount).toBe(1);
  await expect(client.query('SELECT * FROM nope')).rejects.toThrow(/does not exist/);
  await client.end();
  await gateway.engine.store.flush();
  const [latest] = await gateway.engine.store.listSessions({ limit: 1 });
  sessionId = latest!.id;
  // The disconnect event is written as the relay ends, a moment after the client's end().
  for (let i = 0; i < 100 && (await gateway.engine.store.getSession(sessionId))?.status === 'open'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    await gateway.engine.store.flush();
  }
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

/** Runs `sluice replay` in-process with the gateway's config, capturing output and the waits asked for. */
async function replay(values: ParsedArgs['values'], positionals: string[] = [sessionId]): Promise<{ code: number; stdout: string; stderr: string; waits: number[] }> {
  let stdout = '';
  let stderr = '';
  const waits: number[] = [];
  const io: CliIo = { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), env: {}, cwd: process.cwd() };
  const code = await runReplay({ values: { config: gateway.configFile, ...values }, positionals }, io, async (ms) => void waits.push(ms));
  return { code, stdout, stderr, waits };
}

/** Ids, times and durations differ per run. */
function normalise(text: string): string {
  return text
    .replaceAll(sessionId, 'SESSION')
    .replace(/approval [0-9A-Z]{20,}/g, 'approval APPROVAL')
    .replace(/from 127\.0\.0\.1:\d+/g, 'from 127.0.0.1:PORT')
    .replace(/Time: \d+\.\d{3} ms/g, 'Time: T ms');
}

describe('sluice replay', () => {
  it('prints a recorded session as the psql transcript an auditor reads', async () => {
    const { code, stdout, stderr } = await replay({ 'no-delay': true });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(normalise(stdout)).toBe(
      [
        '-- session SESSION · resource testdb · ci-job (ci) · from 127.0.0.1:PORT · replay-test',
        'testdb=> SELECT id, name, email',
        'testdb-> FROM users ORDER BY id',
        ' id | name  |   email',
        '----+-------+------------',
        '  1 | Alice | [redacted]',
        '  2 | Bob   |',
        '  3 | Carol | [redacted]',
        '(3 rows)',
        '-- masked: emails 2',
        'Time: T ms',
        'testdb=> DROP TABLE users',
        '-- denied by rule ci-no-ddl: CI jobs may not change the schema',
        'ERROR:  denied by rule ci-no-ddl: CI jobs may not change the schema',
        '-- SQLSTATE 42501',
        'Time: T ms',
        "testdb=> UPDATE users SET name = $1 WHERE email LIKE '%.com'",
        "-- params: $1 = 'Alice L.'",
        '-- waiting for approval APPROVAL (rule ci-writes)',
        '-- approved by alice (alice: ticket 42)',
        'UPDATE 1',
        'Time: T ms',
        'testdb=> SELECT * FROM nope',
        'ERROR:  relation "nope" does not exist',
        '-- SQLSTATE 42P01',
        'Time: T ms',
        '-- session closed: 4 statements, 2 errors',
        '',
      ].join('\n'),
    );
  });

  it('waits the recorded gaps divided by --speed, and --from skips what came before', async () => {
    const normal = await replay({});
    const fast = await replay({ speed: '4' });
    const total = (waits: number[]) => waits.reduce((sum, ms) => sum + ms, 0);
    expect(total(normal.waits)).toBeGreaterThan(0);
    expect(normal.waits.every((ms) => ms <= 2_000)).toBe(true);
    expect(total(fast.waits)).toBeCloseTo(total(normal.waits) / 4, 6);
    expect(fast.stdout).toBe(normal.stdout);

    const late = await replay({ 'no-delay': true, from: '3600' });
    expect({ code: late.code, stdout: late.stdout, waits: late.waits }).toEqual({ code: 0, stdout: '', waits: [] });
    const all = await replay({ 'no-delay': true, from: new Date(0).toISOString() });
    expect(all.stdout).toBe(normal.stdout);
  });

  it('prints the frames as JSON with --json', async () => {
    const { stdout } = await replay({ json: true });
    const frames = JSON.parse(stdout) as { kind: string; seq: number; time: number; text: string }[];
    expect(frames.map((frame) => frame.kind)).toEqual(['prompt', 'statement', 'result', 'statement', 'decision', 'error', 'statement', 'decision', 'approval', 'result', 'statement', 'error', 'end']);
    expect(frames.every((frame, index) => index === 0 || frame.time >= frames[index - 1]!.time)).toBe(true);
  });

  it('refuses an unknown session with exit 1, and bad options as usage errors', async () => {
    const unknown = await replay({ 'no-delay': true }, ['01NOPE']);
    expect(unknown).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('sluice replay: no session "01NOPE" in ') });
    await expect(replay({ speed: '0' })).rejects.toThrow(/--speed must be a positive number/);
    await expect(replay({ from: 'yesterday' })).rejects.toThrow(/--from must be seconds into the session or an ISO time/);
    await expect(replay({}, [])).rejects.toThrow(/which session/);
    expect(replayCommand.words).toEqual(['replay']);
  });
});
