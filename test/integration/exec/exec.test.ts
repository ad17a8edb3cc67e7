import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asciicastOutput, parseAsciicast } from '../../../proxy/common/asciicast.js';
import { eventually } from '../../helpers/eventually.js';
import { runCli } from '../../helpers/run-cli.js';
import { runCliProcess, startExecGateway, type ExecTestGateway } from './exec-fixture.js';

// `sluice exec` end to end: a real gateway (engine API listener, SQLite store), the real CLI,
// real commands in a real pty or with pipes. The gateway's secrets are canaries searched for in
// everything the caller gets.

let gateway: ExecTestGateway;
let work: string;

beforeAll(async () => {
  gateway = await startExecGateway({ masking: ['{ name: emails, detect: email, strategy: redact }'] });
  work = await mkdtemp(join(tmpdir(), 'sluice-exec-work-'));
});

afterAll(async () => {
  await gateway?.close();
  await rm(work, { recursive: true, force: true });
});

const as = (token: string) => ({ env: { SLUICE_TOKEN: token }, cwd: work });
const exec = (args: readonly string[], token = gateway.tokens.ci) => runCli(['exec', '--api', gateway.apiUrl, ...args], as(token));

function expectNoCanary(text: string): void {
  for (const canary of Object.values(gateway.canaries)) expect(text).not.toContain(canary);
}

async function lastExecSession() {
  await gateway.engine.store.flush();
  const [session] = await gateway.engine.store.listSessions({ protocol: 'exec', limit: 1 });
  return session!;
}

describe('sluice exec', () => {
  it("runs the resource's command with its secrets, and the caller never sees them", async () => {
    const result = await exec(['box']);
    expect(result.code).toBe(0);
    // The command got the token and the file; what it printed was scrubbed on the way out.
    expect(result.stdout).toContain('API_TOKEN=[secret]');
    expect(result.stdout).toMatch(/KUBECONFIG=\/\S+\/kubeconfig/);
    // Nothing of the gateway's own environment reached the command.
    expect(result.stdout).not.toContain('SLUICE_TEST_DB_PASSWORD');
    expectNoCanary(result.stdout + result.stderr);
  });

  it('scrubs the secrets from files, /proc/self/environ and the parent environment, stderr too', async () => {
    const script = 'cat "$KUBECONFIG"; tr "\\0" "\\n" < /proc/$$/environ; tr "\\0" "\\n" < /proc/$PPID/environ; echo "$API_TOKEN" >&2; exit 3';
    const result = await exec(['box', '--', 'sh', '-c', script]);
    expect(result.code).toBe(3);
    expect(result.stdout).toContain('token: [secret]');
    expect(result.stdout).toContain('API_TOKEN=[secret]');
    expect(result.stderr).toBe('[secret]\n');
    expectNoCanary(result.stdout + result.stderr);
  });

  it('writes the secret file 0600 in a private directory, keeps it off the command line, and removes it after', async () => {
    const pending = exec(['box', '--', 'sh', '-c', 'echo "file=$KUBECONFIG"; ps -eo args; sleep 1']);
    const file = await eventually(async () => {
      const sessions = await gateway.engine.store.listSessions({ protocol: 'exec', status: 'open', limit: 5 });
      expect(sessions.length).toBeGreaterThan(0);
      const found = /\/tmp\/sluice-exec-[^/\s]+\/kubeconfig/.exec(JSON.stringify(await gateway.engine.store.listEvents(sessions[0]!.id)));
      expect(found).not.toBeNull();
      return found![0];
    }, 10_000);
    // Read while the command still runs.
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(join(file, '..'))).mode & 0o777).toBe(0o700);
    const result = await pending;
    expect(result.code).toBe(0);
    // `ps` shows every process's command line: the secrets are on none.
    expect(result.stdout).toContain('ps -eo args');
    expectNoCanary(result.stdout);
    expect(existsSync(file)).toBe(false);
  });

  it('masks detected values in the output with the caller\'s masking rules', async () => {
    const result = await exec(['box', '--', 'sh', '-c', 'printf "contact alice@"; sleep 0.01; printf "example.com now\\n"']);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('alice@example.com');
    expect(result.stdout).toMatch(/^contact \S+ now\n$/);
  });

  it('denies a command line a rule denies, without running it', async () => {
    const victim = join(work, 'keep-me');
    expect((await exec(['box', '--', 'sh', '-c', `echo precious > ${victim}`])).code).toBe(0);
    const result = await exec(['box', '--', 'rm', '-f', victim]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('denied by rule no-rm');
    const session = await lastExecSession();
    const events = await gateway.engine.store.listEvents(session.id);
    expect(events.find((event) => event.kind === 'decision')?.payload).toMatchObject({ protocol: 'exec', effect: 'deny', rule: 'no-rm', text: `env rm -f ${victim}` });
    expect(events.some((event) => event.kind === 'output')).toBe(false);
    expect(await readFile(victim, 'utf8')).toBe('precious\n');
  });

  it('holds a command for approval, runs it once approved, and refuses it when denied', async () => {
    const approved = join(work, 'approved');
    const pending = exec(['box', '--', 'touch', approved]);
    const id = await eventually(async () => {
      const [approval] = gateway.engine.approvals.list({ status: 'pending' });
      expect(approval?.statement).toBe(`env touch ${approved}`);
      return approval!.id;
    }, 10_000);
    expect(existsSync(approved)).toBe(false);
    const vote = await runCli(['approve', id, '--api', gateway.apiUrl], as(gateway.tokens.alice));
    expect(vote.code).toBe(0);
    const result = await pending;
    expect(result.stderr).toContain(`waiting for approval ${id}`);
    expect(result.code).toBe(0);
    expect(existsSync(approved)).toBe(true);

    const refused = join(work, 'refused');
    const second = exec(['box', '--', 'touch', refused]);
    const next = await eventually(async () => gateway.engine.approvals.list({ status: 'pending' })[0]!.id, 10_000);
    expect((await runCli(['deny', next, '--reason', 'not today', '--api', gateway.apiUrl], as(gateway.tokens.bob))).code).toBe(0);
    const denied = await second;
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('denied by bob: not today');
    expect(existsSync(refused)).toBe(false);
  });

  it('answers a resource the caller may not use as if it did not exist', async () => {
    const outsider = await exec(['box'], gateway.tokens.outsider);
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toContain('no exec resource named "box" that you may use');
    const unknown = await exec(['no-such-thing']);
    expect(unknown.stderr).toContain('no exec resource named "no-such-thing" that you may use');
    const badToken = await exec(['box'], 'not-a-token');
    expect(badToken.code).toBe(1);
    expect(badToken.stderr).toContain('refused the credential');
  });

  it('records the session so it replays and exports as asciicast v2 with the output the caller saw', async () => {
    const result = await exec(['box', '--', 'sh', '-c', 'printf "line one\\n\\033[1mbold\\033[0m and mail bob@example.org\\n"; echo "$API_TOKEN"']);
    expect(result.code).toBe(0);
    const session = await lastExecSession();
    expect(session).toMatchObject({ resource: 'box', status: 'closed', identity: { subject: 'ci-job' } });
    const out = join(work, `${session.id}.cast`);
    const exported = await runCli(['export', '--config', gateway.configFile, '--asciicast', session.id, '-o', out], as(gateway.tokens.ci));
    expect(exported.code).toBe(0);
    const text = await readFile(out, 'utf8');
    const cast = parseAsciicast(text);
    expect(cast.header).toMatchObject({ version: 2, width: 80, height: 24, timestamp: Math.floor(session.startedAt / 1000) });
    // The command line as recorded: through the caller's detectors like the output.
    expect(cast.header.command).toMatch(/^env sh -c 'printf "line one.* and mail \S+\\n"; echo "\$API_TOKEN"'$/);
    expect(asciicastOutput(cast)).toBe(result.stdout);
    expectNoCanary(text);
    expect(text).not.toContain('bob@example.org');

    const replay = await runCli(['replay', session.id, '--no-delay', '--config', gateway.configFile], as(gateway.tokens.ci));
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('$ env sh -c');
    expect(replay.stdout).toContain('line one\n\\x1b[1mbold\\x1b[0m and mail');
    expect(replay.stdout).toContain('-- exited with code 0');
    // The audit store's file itself holds no secret.
    expectNoCanary((await readFile(join(gateway.dir, 'data', 'audit.sqlite'))).toString('latin1'));
  });

  it('runs in a pty for a terminal, passes exit codes and signals through (a separate client process)', { timeout: 120_000 }, async () => {
    const env = { SLUICE_TOKEN: gateway.tokens.ci };
    const tty = await runCliProcess(['exec', '--api', gateway.apiUrl, '--pty', 'box', '--', 'sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo "on a tty $(stty size)"; exit 5'], env);
    expect(tty.stdout).toContain('on a tty 24 80');
    expect(tty.code).toBe(5);
    const piped = await runCliProcess(['exec', '--api', gateway.apiUrl, 'box', '--', 'sh', '-c', '[ -t 1 ] || echo "no tty"; read line; echo "read $line"'], env, { input: 'typed input\n' });
    expect(piped.stdout).toBe('no tty\nread typed input\n');
    expect(piped.code).toBe(0);
    const killed = await runCliProcess(['exec', '--api', gateway.apiUrl, 'box', '--', 'sh', '-c', 'kill -TERM $$'], env);
    expect(killed.code).toBe(143);
    expectNoCanary(tty.stdout + tty.stderr + piped.stdout + killed.stderr);
  });

  it('closes the recording when the client goes away mid-command, and ends the command', { timeout: 60_000 }, async () => {
    const marker = join(work, 'never');
    let child: ChildProcess | undefined;
    const client = runCliProcess(['exec', '--api', gateway.apiUrl, 'box', '--', 'sh', '-c', `echo started; sleep 20; touch ${marker}`], { SLUICE_TOKEN: gateway.tokens.ci }, { started: (started) => (child = started) });
    const session = await eventually(async () => {
      const [open] = await gateway.engine.store.listSessions({ protocol: 'exec', status: 'open', limit: 1 });
      expect(open).toBeDefined();
      return open!;
    }, 15_000);
    // Kill the client (not the command): the gateway ends the command and aborts the session.
    child!.kill('SIGKILL');
    await client;
    const ended = await eventually(async () => {
      const found = await gateway.engine.store.getSession(session.id);
      expect(found?.status).toBe('aborted');
      return found!;
    }, 15_000);
    expect(ended.endedAt).not.toBeNull();
    expect(existsSync(marker)).toBe(false);
  });
});
