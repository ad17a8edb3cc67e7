import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAuditStore } from '../../../proxy/audit/audit-store.js';
import type { SessionRecord } from '../../../proxy/audit/audit-types.js';
import { runCli } from '../../helpers/run-cli.js';

// A config whose secret is absent: auditors read the store without the resource credentials.
const CONFIG = [
  'data_dir: ./data',
  'resources:',
  '  - name: prod-db',
  '    type: postgres',
  '    upstream: postgres://app@db.internal:5432/app',
  '    password: ${env:PROD_DB_PASSWORD}',
  '  - name: billing-db',
  '    type: postgres',
  '    upstream: postgres://app@db.internal:5432/billing',
  '    password: ${env:PROD_DB_PASSWORD}',
  '',
].join('\n');

let dir: string;
let configFile: string;
const ids = { alice: '', ci: '', billing: '' };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-sessions-cli-'));
  configFile = join(dir, 'sluice.yaml');
  await writeFile(configFile, CONFIG);
  const store = await openAuditStore({ dataDir: join(dir, 'data'), durability: 'batched' });
  const alice = store.beginSession({
    resource: 'prod-db',
    protocol: 'postgres',
    identity: { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['dba'] },
    clientAddress: '127.0.0.1:50000',
    // application_name is the client's to choose: here it tries to retitle the terminal.
    application: 'psql\u001b]0;owned\u0007',
  });
  await alice.event('query', { protocol: 'simple', text: 'SELECT email\n  FROM users\n WHERE id = $1', params: ['42', null], duration_ms: 0.52, rows: 1, outcome: 'ok', tags: ['SELECT 1'] });
  await alice.event('query', { protocol: 'simple', text: 'SELECT * FROM nope', duration_ms: 1.5, rows: 0, outcome: 'error', tags: [], error: { code: '42P01', message: 'relation "nope" does not exist' } });
  await alice.end('closed', { statements: 2, errors: 1, rows: 1 });
  const ci = store.beginSession({
    resource: 'prod-db',
    protocol: 'postgres',
    identity: { subject: 'repo:acme/app:ref:refs/heads/main', issuer: 'https://token.actions.githubusercontent.com', method: 'oidc', groups: ['ci'] },
    clientAddress: '10.1.2.3:41000',
    application: null,
  });
  const billing = store.beginSession({
    resource: 'billing-db',
    protocol: 'postgres',
    identity: { subject: 'bob', issuer: 'sluice:token', method: 'token', groups: [] },
    clientAddress: '10.1.2.4:41000',
    application: 'pgbench',
  });
  await billing.end('aborted', { statements: 0, errors: 0, rows: 0 });
  await store.close(); // `ci` stays open, as a live session would be
  Object.assign(ids, { alice: alice.id, ci: ci.id, billing: billing.id });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sluice sessions', () => {
  it('lists the sessions newest first as a table, without needing the config’s secrets', async () => {
    const { code, stdout, stderr } = await runCli(['sessions', '--config', configFile]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+STARTED\s+RESOURCE\s+SUBJECT\s+CLIENT\s+STATUS\s+STATEMENTS\s+ERRORS\s+DURATION$/);
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual([ids.billing, ids.ci, ids.alice]);
    expect(lines[3]).toMatch(/^\w{26}\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+prod-db\s+alice\s+127\.0\.0\.1:50000\s+closed\s+2\s+1\s+\d+ms$/);
    expect(lines[2]).toMatch(/repo:acme\/app:ref:refs\/heads\/main\s+10\.1\.2\.3:41000\s+open\s+0\s+0\s+\S+\+$/);
    expect(lines[1]).toMatch(/billing-db\s+bob\s+10\.1\.2\.4:41000\s+aborted/);
  });

  it('filters by resource and status and limits the count', async () => {
    const byResource = await runCli(['sessions', '-c', configFile, '--resource', 'prod-db', '--json']);
    expect((JSON.parse(byResource.stdout) as SessionRecord[]).map((session) => session.id)).toEqual([ids.ci, ids.alice]);
    const open = await runCli(['sessions', '-c', configFile, '--status', 'open', '--json']);
    expect((JSON.parse(open.stdout) as SessionRecord[]).map((session) => session.id)).toEqual([ids.ci]);
    const limited = await runCli(['sessions', '-c', configFile, '--limit', '1']);
    expect(limited.stdout.trimEnd().split('\n')).toHaveLength(2);
    const none = await runCli(['sessions', '-c', configFile, '--resource', 'other']);
    expect(none).toMatchObject({ code: 0, stdout: expect.stringMatching(/^no sessions recorded in .*audit\.sqlite that match\n$/) });
  });

  it('prints the sessions as JSON with --json', async () => {
    const { code, stdout } = await runCli(['sessions', '--config', configFile, '--json']);
    expect(code).toBe(0);
    const sessions = JSON.parse(stdout) as SessionRecord[];
    expect(sessions[2]).toMatchObject({
      id: ids.alice,
      resource: 'prod-db',
      protocol: 'postgres',
      identity: { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['dba'] },
      application: 'psql\u001b]0;owned\u0007',
      status: 'closed',
      counters: { statements: 2, errors: 1, rows: 1 },
    });
  });

  it('finds the config through $SLUICE_CONFIG', async () => {
    const { code, stdout } = await runCli(['sessions'], { env: { SLUICE_CONFIG: configFile } });
    expect(code).toBe(0);
    expect(stdout).toContain(ids.alice);
  });

  it('says where it looked when there is no store yet, and creates nothing', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'sluice-sessions-none-'));
    try {
      await writeFile(join(empty, 'sluice.yaml'), 'data_dir: ./state\n');
      const { code, stdout, stderr } = await runCli(['sessions', '--config', join(empty, 'sluice.yaml')]);
      expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
      expect(stderr).toBe(`sluice: no audit store at ${join(empty, 'state', 'audit.sqlite')}; has \`sluice serve\` run with this config?\n`);
      expect(existsSync(join(empty, 'state'))).toBe(false);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  it('answers bad options with exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['sessions', '--limit', 'ten'], /^sluice: --limit must be a whole number of sessions, not "ten"; pass e\.g\. --limit 20\n$/],
      [['sessions', '--status', 'paused'], /^sluice: --status must be one of open, closed, aborted, not "paused"/],
      [['sessions', 'extra'], /^sluice: sluice sessions: unexpected argument "extra"/],
      [['sessions', 'show'], /^sluice: sluice sessions show: which session\?; pass its ID/],
    ];
    for (const [argv, message] of cases) {
      const { code, stderr } = await runCli([...argv, '--config', configFile]);
      expect({ argv, code }).toEqual({ argv, code: 2 });
      expect(stderr).toMatch(message);
    }
  });
});

describe('sluice sessions show', () => {
  it('prints the session header and one line per event, with client text escaped', async () => {
    const { code, stdout, stderr } = await runCli(['sessions', 'show', ids.alice, '--config', configFile]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).not.toContain('\u001b');
    const [header, events] = stdout.split('\n\n');
    expect(header).toMatch(new RegExp(`^session  ${ids.alice}\nresource prod-db \\(postgres\\)\nsubject  alice \\(token, issuer sluice:token\\)\ngroups   dba\n`));
    expect(header).toContain('client   127.0.0.1:50000, application psql\\x1b]0;owned\\x07');
    expect(header).toMatch(/\nstatus {3}closed \(\d+ms\)\ncounters 2 statements, 1 error, 1 row$/);
    const lines = events!.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SEQ {2}TIME \(UTC\) {7}KIND {8}DETAIL$/);
    expect(lines[1]).toMatch(/^ {2}1 {2}\d\d:\d\d:\d\d\.\d{6} {2}connect {5}alice \(token\) from 127\.0\.0\.1:50000, application psql\\x1b\]0;owned\\x07 to prod-db$/);
    expect(lines[2]).toMatch(/^ {2}2 {2}\S+ {2}query {7}ok {2}SELECT email FROM users WHERE id = \$1 {2}params \$1="42" \$2=NULL {2}1 row {2}0\.52ms$/);
    expect(lines[3]).toMatch(/ {2}query {7}ERROR 42P01 {2}SELECT \* FROM nope {2}1\.50ms {2}— relation "nope" does not exist$/);
    expect(lines[4]).toMatch(/ {2}disconnect {2}closed: 2 statements, 1 error, 1 row$/);
    expect(lines).toHaveLength(5);
  });

  it('prints the session and every payload in full with --json', async () => {
    const { code, stdout } = await runCli(['sessions', 'show', ids.alice, '--config', configFile, '--json']);
    expect(code).toBe(0);
    const shown = JSON.parse(stdout) as { session: SessionRecord; events: { seq: number; kind: string; payload: unknown }[] };
    expect(shown.session.id).toBe(ids.alice);
    expect(shown.events.map((event) => event.kind)).toEqual(['connect', 'query', 'query', 'disconnect']);
    expect(shown.events[1]!.payload).toMatchObject({ text: 'SELECT email\n  FROM users\n WHERE id = $1', params: ['42', null] });
  });

  it('shows a session that is still open', async () => {
    const { code, stdout } = await runCli(['sessions', 'show', ids.ci, '--config', configFile]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/\nended {4}-\nstatus {3}open \(still open after \S+\)\n/);
    expect(stdout).toMatch(/connect {2}repo:acme\/app:ref:refs\/heads\/main \(oidc\) from 10\.1\.2\.3:41000 to prod-db$/m);
  });

  it('exits 1 naming the store for an unknown id', async () => {
    const { code, stdout, stderr } = await runCli(['sessions', 'show', 'NOPE', '--config', configFile]);
    expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
    expect(stderr).toMatch(/^sluice sessions show: no session "NOPE" in .*audit\.sqlite; list them with 'sluice sessions'\n$/);
  });

  it('is listed in --help with its parent', async () => {
    const { stdout } = await runCli(['--help']);
    expect(stdout).toMatch(/^ {2}sessions show +print one recorded session/m);
    expect(stdout).toMatch(/^ {2}sessions +list recorded sessions, newest first$/m);
    expect((await runCli(['sessions', 'show', '--help'])).stdout).toMatch(/^Usage: sluice sessions show ID \[--config FILE\] \[--json\]/);
    expect((await runCli(['help', 'sessions'])).stdout).toMatch(/^Usage: sluice sessions \[--config FILE\] \[--limit N\]/);
  });
});
