import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import { findProgram } from '../../helpers/external-program.js';
import { createCanaryRole, type CanaryRole } from '../../helpers/canary-role.js';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { TestOidcIssuer } from '../../helpers/oidc-issuer.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';
import { runCli } from '../../helpers/run-cli.js';
import { startServeProcess, type ServeProcess } from '../../helpers/serve-process.js';

// A CI job as GitHub Actions runs it: the runner has no database secret, only the job's OIDC
// token service. `sluice run -- bash script.sh` fetches the job's id token, gets a session
// credential from a separately running gateway, and the script's psql and node-postgres reach
// the database with it. Everything the job can see is searched for the upstream password.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'proxy', 'cli', 'main.ts');
const psql = findProgram('psql');
const REQUEST_TOKEN = `gh-request-${process.pid}`;

let db: TestDatabase;
let canary: CanaryRole;
let issuer: TestOidcIssuer;
let tokenService: Server;
let tokenServiceUrl: string;
let files: GatewayConfigFile;
let gateway: ServeProcess;
let work: string;
const audiences: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  canary = await createCanaryRole(db, 'run_canary');
  const admin = await db.connect();
  await admin.query(`SET ROLE ${canary.role}`);
  await admin.query(`CREATE TABLE orders (id int PRIMARY KEY, total numeric);
    INSERT INTO orders SELECT i, i * 10 FROM generate_series(1, 5) AS i;
    CREATE TABLE customers (id int PRIMARY KEY, email text);
    INSERT INTO customers VALUES (1, 'ada@example.com'), (2, 'bob@example.com');`);
  await admin.query('RESET ROLE');
  issuer = await TestOidcIssuer.start();
  // GitHub's id token service: the job's request token in, an id token for the asked audience out.
  tokenService = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.headers.authorization !== `bearer ${REQUEST_TOKEN}`) {
      res.writeHead(401).end();
      return;
    }
    const audience = url.searchParams.get('audience') ?? '';
    audiences.push(audience);
    void issuer.issue({ aud: audience, sub: 'repo:acme/shop:ref:refs/heads/main', repository: 'acme/shop' }).then((value) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value }));
    });
  });
  await new Promise<void>((resolve) => tokenService.listen(0, '127.0.0.1', resolve));
  tokenServiceUrl = `http://127.0.0.1:${(tokenService.address() as AddressInfo).port}/token?api-version=2.0`;
  files = await writeGatewayConfig(db, {
    upstreamUser: canary.role,
    upstreamPassword: canary.password,
    api: true,
    oidcIssuer: issuer.url,
    approvals: '{ timeout: 60s }',
    policy: [
      '{ name: ci-read, match: { groups: [ci], resources: [testdb] }, effect: allow }',
      '{ name: ci-deletes, match: { groups: [ci], resources: [testdb], kinds: [delete] }, effect: approve, reason: "deletes need a second pair of eyes" }',
    ],
    masking: ['{ name: emails, columns: [public.customers.email], strategy: partial }', '{ name: emails-anywhere, detect: [email], strategy: partial }'],
  });
  gateway = await startServeProcess(files.configFile);
  work = await mkdtemp(join(tmpdir(), 'sluice-ci-job-'));
});

afterAll(async () => {
  await gateway?.stop();
  await new Promise((resolve) => tokenService?.close(resolve));
  await issuer?.stop();
  await rm(work, { recursive: true, force: true });
  await rm(files?.dir ?? '/nonexistent', { recursive: true, force: true });
  await canary?.drop();
});

interface JobResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `sluice run` as a CI runner starts it: its own process, the job's environment, no terminal. */
function runJob(args: readonly string[], env: NodeJS.ProcessEnv, whileRunning?: (output: () => string) => Promise<void>): Promise<JobResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'run', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const during = whileRunning?.(() => stdout + stderr);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      void Promise.resolve(during).then(() => resolve({ code, stdout, stderr }), reject);
    });
  });
}

/** The job's environment on a GitHub-hosted-like runner: PATH, HOME and the id token service. */
function jobEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: work,
    GITHUB_ACTIONS: 'true',
    ACTIONS_ID_TOKEN_REQUEST_URL: tokenServiceUrl,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
    SLUICE_URL: gateway.apiUrl,
    ...extra,
  };
}

async function api<T>(token: string, method: string, input: unknown): Promise<T> {
  const response = await fetch(`${gateway.apiUrl}/api/v1/${method}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(input) });
  const body = (await response.json()) as { ok: boolean; value: T; error?: { message: string } };
  if (!body.ok) throw new Error(`${method}: ${body.error?.message}`);
  return body.value;
}

describe.skipIf(!psql)('sluice run in a GitHub-Actions-shaped job', () => {
  it('runs psql and a DATABASE_URL client unchanged, holds a write for approval, and leaks no secret', async () => {
    const script = join(work, 'script.sh');
    await writeFile(
      script,
      [
        'set -e',
        'echo "orders: $(psql -X -A -t -c "select count(*) from orders")"',
        // An ORM-like client that reads only DATABASE_URL.
        `node -e "const {Client}=require('pg');const c=new Client({connectionString:process.env.DATABASE_URL});c.connect().then(()=>c.query('select email from customers order by id')).then(r=>{console.log('emails: '+r.rows.map(x=>x.email).join(','));return c.end()})"`,
        `env | sort > ${join(work, 'env.txt')}`,
        'psql -X -c "delete from orders where id = 1"',
        'echo "job done with $PGSSLMODE"',
        '',
      ].join('\n'),
    );
    const job = await runJob(['--', 'bash', script], jobEnv(), async (output) => {
      // The DELETE waits for an approver; one approves it through the engine API.
      const pending = await eventually(async () => {
        const list = await api<{ id: string; statement: string }[]>(files.staff.alice, 'approvals.list', { status: 'pending' });
        if (list.length === 0) throw new Error(`no pending approval yet; job so far:\n${output()}`);
        return list[0]!;
      }, 60_000);
      expect(pending.statement).toMatch(/delete from orders where id = 1/i);
      await api(files.staff.alice, 'approvals.decide', { id: pending.id, decision: 'approve' });
    });
    expect(job.stderr).not.toMatch(/error/i);
    expect(job.code, job.stderr).toBe(0);
    expect(job.stdout).toContain('orders: 5');
    expect(job.stdout).toMatch(/emails: \*\*\*\*@example\.com,\*\*\*\*@example\.com/);
    expect(job.stdout).toContain('DELETE 1');
    expect(job.stdout).toContain('job done with verify-full');
    expect(audiences).toEqual(['sluice']);

    // What the command was given: gateway coordinates and a session credential, never the upstream's.
    const env = await readFile(join(work, 'env.txt'), 'utf8');
    expect(env).toMatch(/^PGDATABASE=testdb$/m);
    expect(env).toMatch(/^PGPASSWORD=sluice_run_/m);
    expect(env).toMatch(/^DATABASE_URL=postgres:\/\/sluice:sluice_run_[^@]+@127\.0\.0\.1:\d+\/testdb\?sslmode=verify-full&sslrootcert=/m);
    const runCredential = /^PGPASSWORD=(.*)$/m.exec(env)![1]!;

    // The credential died with the command.
    const late = new pg.Client({ host: gateway.host, port: gateway.port, user: 'sluice', password: runCredential, database: 'testdb', ssl: { rejectUnauthorized: false } });
    await expect(late.connect()).rejects.toThrow(/no longer valid/);

    // The terminal recording: the script's output, linked to the database sessions it opened.
    const terminal = /recorded as terminal session (\S+) with (\d+) linked sessions/.exec(job.stderr);
    expect(terminal, job.stderr).not.toBeNull();
    expect(Number(terminal![2])).toBe(3);
    const replay = await runCli(['replay', terminal![1]!, '--config', files.configFile], { env: {} });
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toContain('orders: 5');
    expect(replay.stdout).toContain('DELETE 1');
    const cast = join(work, 'job.cast');
    const exported = await runCli(['export', '--asciicast', terminal![1]!, '-o', cast, '--config', files.configFile], { env: {} });
    expect(exported.code, exported.stderr).toBe(0);
    const [header, ...frames] = (await readFile(cast, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(header).toMatchObject({ version: 2, width: 80, height: 24 });
    const shown = (frames as [number, string, string][]).filter((frame) => frame[1] === 'o').map((frame) => frame[2]).join('');
    expect(shown).toContain('orders: 5');
    expect(shown).toContain('emails: ****@example.com');

    // The canary: in nothing the job, its log, or an auditor's export could show.
    for (const [where, text] of [['stdout', job.stdout], ['stderr', job.stderr], ['env', env], ['replay', replay.stdout], ['asciicast', await readFile(cast, 'utf8')], ['gateway log', gateway.stderr()]] as const) {
      expect(text.includes(canary.password), `the upstream password is in ${where}`).toBe(false);
    }
  });

  it('passes the exit code through and masks the CI log with --mask-output', async () => {
    const job = await runJob(['--mask-output', '--', 'bash', '-c', 'echo "contact ada@example.com"; exit 7'], jobEnv({ SLUICE_TOKEN: files.token, ACTIONS_ID_TOKEN_REQUEST_URL: '' }));
    expect(job.code, job.stderr).toBe(7);
    expect(job.stdout).toContain('contact ****@example.com');
    expect(job.stdout).not.toContain('ada@example.com');
    // Without it, the log gets the output as written (the recording is masked either way).
    const plain = await runJob(['--', 'bash', '-c', 'echo "contact ada@example.com"; kill -TERM $$'], jobEnv({ SLUICE_TOKEN: files.token, ACTIONS_ID_TOKEN_REQUEST_URL: '' }));
    expect(plain.stdout).toContain('contact ada@example.com');
    expect(plain.code).toBe(128 + 15);
    const session = /recorded as terminal session (\S+)/.exec(plain.stderr)![1]!;
    const replay = await runCli(['replay', session, '--config', files.configFile], { env: {} });
    expect(replay.stdout).toContain('contact ****@example.com');
    expect(replay.stdout).not.toContain('ada@example.com');
  });

  it('runs the command in a pty with --pty, so tools that check for a terminal behave as at a desk', async () => {
    const job = await runJob(['--pty', '--', 'bash', '-c', 'test -t 1 && echo "stdout is a terminal: $(tput cols 2>/dev/null || echo ?) columns"'], jobEnv({ SLUICE_TOKEN: files.token, ACTIONS_ID_TOKEN_REQUEST_URL: '', TERM: 'xterm' }));
    expect(job.code, job.stderr).toBe(0);
    expect(job.stdout).toContain('stdout is a terminal: 80 columns');
    const piped = await runJob(['--', 'bash', '-c', 'test -t 1 || echo "stdout is a pipe"'], jobEnv({ SLUICE_TOKEN: files.token, ACTIONS_ID_TOKEN_REQUEST_URL: '' }));
    expect(piped.stdout).toContain('stdout is a pipe');
  });

  it('refuses to run a command without an identity, and says how to get one', async () => {
    const job = await runJob(['--', 'true'], { PATH: process.env.PATH, SLUICE_URL: gateway.apiUrl, GITHUB_ACTIONS: 'true' });
    expect(job.code).toBe(125);
    expect(job.stderr).toMatch(/permissions: id-token: write/);
  });
});
