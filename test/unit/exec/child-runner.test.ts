import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runChild, type ChildOptions, type OutputStream } from '../../../proxy/exec/child-runner.js';

// Real processes, in a real pty (node-pty) and with pipes.

const PATH = '/usr/local/bin:/usr/bin:/bin';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-child-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Captured {
  readonly chunks: { data: string; stream: OutputStream }[];
  text(stream?: OutputStream): string;
  /** Resolves once the output holds `needle`. */
  waitFor(needle: string): Promise<void>;
}

function capture(): Captured & { onOutput: ChildOptions['onOutput'] } {
  const chunks: { data: string; stream: OutputStream }[] = [];
  const waiters: { needle: string; resolve: () => void }[] = [];
  const text = (stream?: OutputStream) => chunks.filter((chunk) => stream === undefined || chunk.stream === stream).map((chunk) => chunk.data).join('');
  return {
    chunks,
    text,
    onOutput(data, stream) {
      chunks.push({ data, stream });
      const all = text();
      for (const waiter of waiters.filter((w) => all.includes(w.needle))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    waitFor(needle) {
      if (text().includes(needle)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ needle, resolve }));
    },
  };
}

describe.each([true, false])('runChild (pty: %s)', (usePty) => {
  it('passes output and the exit code through', async () => {
    const out = capture();
    const child = runChild({ file: 'sh', args: ['-c', 'echo hello; exit 3'], env: { PATH }, pty: usePty, onOutput: out.onOutput });
    expect(child.pid).toBeGreaterThan(0);
    expect(await child.done).toEqual({ exitCode: 3, signal: null });
    expect(out.text()).toContain('hello');
  });

  it('delivers every chunk of a large output in order', async () => {
    const out = capture();
    const child = runChild({ file: 'seq', args: ['1', '20000'], env: { PATH }, pty: usePty, onOutput: out.onOutput });
    expect((await child.done).exitCode).toBe(0);
    const expected = Array.from({ length: 20000 }, (_, i) => String(i + 1));
    expect(out.text().split(/\r?\n/).filter(Boolean)).toEqual(expected);
  });

  it('gives the child exactly the environment asked for', async () => {
    const out = capture();
    const child = runChild({ file: 'env', args: [], env: { PATH, ONLY_THIS: 'yes' }, pty: usePty, onOutput: out.onOutput });
    await child.done;
    expect(out.text()).toContain('ONLY_THIS=yes');
    // Nothing of the test runner's own environment.
    expect(out.text()).not.toContain(`HOME=${process.env.HOME ?? '/root'}`);
    expect(out.text()).not.toMatch(/VITEST/);
  });

  it('says clearly when the command does not exist, with exit code 127', async () => {
    const out = capture();
    const child = runChild({ file: 'no-such-command-here', args: [], env: { PATH }, pty: usePty, onOutput: out.onOutput });
    expect(child.pid).toBe(0);
    expect(await child.done).toEqual({ exitCode: 127, signal: null });
    expect(out.chunks).toEqual([{ stream: 'stderr', data: expect.stringContaining('no-such-command-here: command not found') }]);
  });

  it('refuses a file that is not executable with exit code 126', async () => {
    const script = join(dir, `plain-${usePty}.sh`);
    await writeFile(script, 'echo never\n');
    await chmod(script, 0o644);
    const out = capture();
    const child = runChild({ file: script, args: [], env: { PATH }, pty: usePty, onOutput: out.onOutput });
    expect((await child.done).exitCode).toBe(126);
    expect(out.text('stderr')).toContain('permission denied');
  });

  it('says when the working directory is missing', async () => {
    const out = capture();
    const child = runChild({ file: 'pwd', args: [], env: { PATH }, cwd: join(dir, 'missing'), pty: usePty, onOutput: out.onOutput });
    expect((await child.done).exitCode).toBe(126);
    expect(out.text('stderr')).toContain('working directory');
  });

  it('reports the signal that ended the child', async () => {
    const out = capture();
    const child = runChild({ file: 'sh', args: ['-c', 'echo started; sleep 30'], env: { PATH }, pty: usePty, onOutput: out.onOutput });
    await out.waitFor('started');
    child.kill('SIGTERM');
    expect(await child.done).toEqual({ exitCode: null, signal: 'SIGTERM' });
  });

  it('forwards stdin and ends it', async () => {
    const out = capture();
    const stdin = new PassThrough();
    const child = runChild({ file: 'sh', args: ['-c', 'read line; echo "got:$line"; cat >/dev/null; echo eof'], env: { PATH }, pty: usePty, stdin, onOutput: out.onOutput });
    stdin.write('typed\n');
    await out.waitFor('got:typed');
    stdin.end();
    expect((await child.done).exitCode).toBe(0);
    expect(out.text()).toContain('eof');
  });
});

describe('runChild in a pty', () => {
  it('runs the child on a terminal of the size asked for, and resizes it', async () => {
    const out = capture();
    const child = runChild({
      file: 'sh',
      args: ['-c', `[ -t 1 ] && echo "tty $(stty size)"; trap 'echo "resized $(stty size)"; exit 0' WINCH; echo ready; while :; do sleep 0.05; done`],
      env: { PATH },
      pty: true,
      cols: 100,
      rows: 30,
      onOutput: out.onOutput,
    });
    await out.waitFor('ready');
    expect(out.text()).toContain('tty 30 100');
    child.resize(120, 40);
    await out.waitFor('resized 40 120');
    expect((await child.done).exitCode).toBe(0);
    expect(out.chunks.every((chunk) => chunk.stream === 'pty')).toBe(true);
  });
});

describe('runChild with pipes', () => {
  it('keeps stdout and stderr apart, and is not a terminal', async () => {
    const out = capture();
    const child = runChild({ file: 'sh', args: ['-c', '[ -t 1 ] || echo "no tty"; echo oops >&2'], env: { PATH }, pty: false, onOutput: out.onOutput });
    await child.done;
    expect(out.text('stdout')).toBe('no tty\n');
    expect(out.text('stderr')).toBe('oops\n');
  });
});
