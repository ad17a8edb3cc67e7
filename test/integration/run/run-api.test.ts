import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunFinishResult, RunGrant } from '../../../proxy/api/api-contract.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

// The engine API's side of `sluice run`: who may start, feed and finish a run, what its session
// credential opens (resources, not the API) and for how long, and what the recording keeps.

let db: TestDatabase;
let gateway: TestGateway;
let api: string;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  gateway = await startTestGateway(db, { api: true, tls: 'off', masking: ['{ name: emails, detect: [email], strategy: redact }'] });
  api = gateway.engine.api!.url;
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

async function call<T>(token: string, method: string, input: unknown): Promise<{ ok: true; value: T } | { ok: false; error: { code: string; message: string } }> {
  const response = await fetch(`${api}/api/v1/${method}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(input) });
  return (await response.json()) as never;
}

async function start(command: string[] = ['psql', '-c', 'select 1'], extra: Record<string, unknown> = {}): Promise<RunGrant> {
  const result = await call<RunGrant>(gateway.token, 'runs.start', { command, ...extra });
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

describe('runs over the engine API', () => {
  it('issues a credential that opens the database until the run finishes, and links the sessions it opened', async () => {
    const grant = await start();
    expect(grant.credential).toMatch(/^sluice_run_/);
    expect(grant.postgres).toMatchObject({ host: '127.0.0.1', port: gateway.port, tls: false, resources: ['testdb'] });
    const client = new pg.Client(gateway.clientConfig({ password: grant.credential }));
    await client.connect();
    expect((await client.query('select 41 + 1 AS answer')).rows).toEqual([{ answer: 42 }]);
    await client.end();
    const output = await call(grant.credential, 'runs.output', { run: grant.run, control: grant.control, data: 'answer: 42\r\n' });
    expect(output.ok).toBe(true);
    const finished = await call<RunFinishResult>(grant.credential, 'runs.finish', { run: grant.run, control: grant.control, exit_code: 0, signal: null });
    if (!finished.ok) throw new Error(finished.error.message);
    expect(finished.value.sessions).toHaveLength(1);
    // Gone with the run: a new connection is refused, and the refusal says why.
    const late = new pg.Client(gateway.clientConfig({ password: grant.credential }));
    await expect(late.connect()).rejects.toThrow(/no longer valid: it lives only as long as its command/);
    // The database session records which run it belonged to.
    const events = await gateway.engine.store.listEvents(finished.value.sessions[0]!);
    expect(events[0]!.payload).toMatchObject({ run: grant.run });
  });

  it('lets only the client holding the control key feed or finish a run', async () => {
    const grant = await start();
    const stranger = await call(gateway.dbaToken, 'runs.output', { run: grant.run, control: grant.control, data: 'x' });
    expect(stranger).toMatchObject({ ok: false, error: { code: 'not_found' } });
    // The command holds the session credential but not the control key: it cannot end its own recording.
    const command = await call(grant.credential, 'runs.finish', { run: grant.run, control: 'guess', exit_code: 0, signal: null });
    expect(command).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const owner = await call(gateway.token, 'runs.finish', { run: grant.run, control: grant.control, exit_code: 3, signal: null });
    expect(owner.ok).toBe(true);
  });

  it('keeps the session credential off the rest of the API, and from starting runs', async () => {
    const grant = await start();
    for (const method of ['approvals.list', 'sessions.list', 'identity.whoami', 'runs.start']) {
      const refused = await call(grant.credential, method, method === 'runs.start' ? { command: ['x'] } : {});
      expect(refused, method).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    }
    await call(gateway.token, 'runs.finish', { run: grant.run, control: grant.control, exit_code: 0, signal: null });
  });

  it('records the command line and its output masked, and echoes the masked output back when asked', async () => {
    const grant = await start(['notify', '--to', 'ada@example.com']);
    const echoed = await call<{ masked?: string }>(gateway.token, 'runs.output', { run: grant.run, control: grant.control, data: 'sent to ada@example.com\n', echo: true });
    expect(echoed).toEqual({ ok: true, value: { masked: 'sent to [redacted:email]\n' } });
    await call(gateway.token, 'runs.finish', { run: grant.run, control: grant.control, exit_code: 0, signal: null });
    const recorded = JSON.stringify(await gateway.engine.store.listEvents(grant.terminalSession));
    expect(recorded).toContain('[redacted:email]');
    expect(recorded).not.toContain('ada@example.com');
  });

  it('aborts a run whose client never finishes it once its time is up, credential and all', async () => {
    const grant = await start(['sleep', '999'], { ttl_ms: 1_000 });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const client = new pg.Client(gateway.clientConfig({ password: grant.credential }));
    await expect(client.connect()).rejects.toThrow(/no longer valid/);
    const session = await gateway.engine.store.getSession(grant.terminalSession);
    expect(session?.status).toBe('aborted');
    expect(JSON.stringify(await gateway.engine.store.listEvents(grant.terminalSession))).toContain('time limit');
  });

  it('refuses bad input with the field named', async () => {
    expect(await call(gateway.token, 'runs.start', { command: [] })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('command') } });
    expect(await call(gateway.token, 'runs.start', { command: ['x'], ttl_ms: 10 })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('ttl_ms') } });
  });
});
