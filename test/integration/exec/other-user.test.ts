import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../../helpers/external-program.js';
import { CLI, serveAsUser, TSX, writeExecConfig, type ExecGatewayFiles, type ServeAsUser } from './exec-fixture.js';

// The deployment docs/exec.md recommends: the gateway runs as one OS user (here `daemon`), the
// caller as another (`nobody`). The caller runs `sluice exec` from a shell script and, while the
// command runs, tries every way to the secrets it can think of: the command's output (which
// prints its whole environment and its parent's, the gateway's), its own and its parent's
// /proc/PID/environ, every process's environ it can open, `ps` with environments, and the error
// output. Only root can switch users, so elsewhere this is skipped (and says so).

const root = process.getuid?.() === 0;
const runuser = root ? findProgram('runuser', ['/usr/sbin/runuser', '/sbin/runuser']) : undefined;
if (!root) process.stdout.write('[skip] not root: the gateway cannot be run as another user than the caller here\n');

const GATEWAY_UID = 1; // daemon
const CALLER = 'nobody';

let files: ExecGatewayFiles;
let gateway: ServeAsUser;
let work: string;

describe.runIf(root && runuser !== undefined)('sluice exec with the gateway and the caller as different OS users', () => {
  beforeAll(async () => {
    files = await writeExecConfig();
    gateway = await serveAsUser(files, GATEWAY_UID, GATEWAY_UID);
    work = await mkdtemp(join(tmpdir(), 'sluice-exec-caller-'));
    await chmod(work, 0o777);
  }, 60_000);

  afterAll(async () => {
    await gateway?.close();
    await rm(files?.dir ?? '', { recursive: true, force: true });
    await rm(work ?? '', { recursive: true, force: true });
  });

  it('gives the caller no way to the secrets', { timeout: 120_000 }, async () => {
    const sluice = `${process.execPath} --import ${TSX} ${CLI}`;
    const script = [
      'set -u',
      `cd ${work}`,
      // The command prints its environment, its parent's (the gateway's), its file, then waits.
      `${sluice} exec --api ${gateway.apiUrl} box -- sh -c 'env; tr "\\0" "\\n" < /proc/$PPID/environ; cat "$KUBECONFIG"; echo ready; sleep 4; ls /nonexistent-$API_TOKEN' > out.txt 2> err.txt &`,
      'client=$!',
      'for i in $(seq 1 300); do grep -q ready out.txt 2>/dev/null && break; sleep 0.1; done',
      'ps -eo pid,user,args > ps.txt',
      'ps eww -A > ps-env.txt 2>&1',
      'cat /proc/self/environ /proc/$$/environ /proc/$PPID/environ > self-environ.txt 2>&1',
      'readable=0; denied=0',
      'for f in /proc/[0-9]*/environ; do if cat "$f" >> all-environ.txt 2>/dev/null; then readable=$((readable+1)); else denied=$((denied+1)); fi; done',
      'cmd=$(pgrep -u daemon -n sleep)',
      'if cat /proc/$cmd/environ > /dev/null 2>&1; then echo "command environ: READABLE"; else echo "command environ: DENIED"; fi > probe.txt',
      'gw=$(pgrep -u daemon -o node)',
      'if cat /proc/$gw/environ > /dev/null 2>&1; then echo "gateway environ: READABLE"; else echo "gateway environ: DENIED"; fi >> probe.txt',
      'ls -la /tmp/sluice-exec-* >> probe.txt 2>&1 || true',
      'wait $client; echo "exit $?" >> probe.txt',
    ].join('\n');
    await writeFile(join(work, 'caller.sh'), script, { mode: 0o755 });
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(runuser!, ['-u', CALLER, '--', 'bash', join(work, 'caller.sh')], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SLUICE_TOKEN: files.tokens.ci }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.once('close', (code) => resolve({ code, output }));
    });
    expect(result.code, result.output).toBe(0);
    const read = async (name: string) => readFile(join(work, name), 'utf8').catch(() => '');
    const out = await read('out.txt');
    const probe = await read('probe.txt');
    // The command ran with its secrets: it printed them, scrubbed on the way out.
    expect(out).toContain('API_TOKEN=[secret]');
    expect(out).toContain('token: [secret]');
    // Its parent is the gateway, whose environment holds a password for another resource: scrubbed too.
    expect(out).toContain('SLUICE_TEST_DB_PASSWORD=[secret]');
    expect(out).toContain('ready');
    expect(probe).toContain('command environ: DENIED');
    expect(probe).toContain('gateway environ: DENIED');
    // The command failed (ls of a path holding the token), and said so with the token scrubbed.
    expect(probe).toContain('exit 2');
    expect(await read('err.txt')).toContain('nonexistent-[secret]');
    const everything = [out, probe, result.output, ...(await Promise.all(['err.txt', 'ps.txt', 'ps-env.txt', 'self-environ.txt', 'all-environ.txt'].map(read)))].join('\n');
    for (const canary of Object.values(files.canaries)) expect(everything).not.toContain(canary);
    // And the gateway's own log has none of them either.
    for (const canary of Object.values(files.canaries)) expect(gateway.output()).not.toContain(canary);
  });
});
