import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants, constants as fsConstants, openSync, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { createRequire } from 'node:module';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type * as NodePty from 'node-pty';

// Runs one command for `sluice run` (the job's command) and `sluice exec` (an exec resource's
// template): in a pseudo-terminal through node-pty, or with plain pipes. Every chunk of output
// reaches `onOutput` in the order it arrived, and nothing the child does makes this throw: a
// command that cannot start ends like a shell's (127 not found, 126 cannot execute) with the
// reason on the 'stderr' stream.
//
// Raw mode is the caller's business: this module never touches the caller's terminal. A caller
// forwarding an interactive terminal sets its stdin raw (and restores it) itself; stdin here is
// read as a plain stream.

export type OutputStream = 'stdout' | 'stderr' | 'pty';

export interface ChildOptions {
  /** The program: a path, or a name looked up on the PATH of `env` (not of this process). */
  readonly file: string;
  readonly args: readonly string[];
  /** The child's whole environment: nothing of this process's is added. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** A pseudo-terminal (stdout and stderr are one 'pty' stream), else pipes. */
  readonly pty: boolean;
  /** Terminal size for `pty` (default 80x24). */
  readonly cols?: number;
  readonly rows?: number;
  /**
   * Forwarded to the child. With pipes its end closes the child's stdin; with a pty it sends
   * Ctrl-D (end of input for a program reading lines). null or absent: the child gets no input
   * (pipes: /dev/null; a pty: nothing is ever typed).
   */
  readonly stdin?: NodeJS.ReadableStream | null;
  /** Every chunk of output, decoded as UTF-8, in order. */
  readonly onOutput: (data: string, stream: OutputStream) => void;
}

export interface ChildExit {
  /** The exit code, or null when a signal ended the child (127/126 when it never started). */
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface RunningChild {
  /** The child's process id; 0 when it never started. */
  readonly pid: number;
  /** Resizes the pseudo-terminal (the child gets SIGWINCH); nothing with pipes. */
  resize(cols: number, rows: number): void;
  /** Signals the child (default SIGTERM); nothing once it has exited. */
  kill(signal?: NodeJS.Signals): void;
  /** Stops reading the child's output (it blocks once the pipe or pty buffer fills) until resume(): backpressure from a slow reader. */
  pause(): void;
  resume(): void;
  /** Resolves once the child has exited and its output has all been delivered. Never rejects. */
  readonly done: Promise<ChildExit>;
}

export const EXIT_NOT_FOUND = 127;
export const EXIT_CANNOT_EXECUTE = 126;
const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';
/** After the child exits, how long a grandchild holding its pipes open may delay `done`. */
const PIPE_DRAIN_MS = 2_000;
const MIN_SIZE = 1;
const MAX_SIZE = 10_000;

/** Starts the child. See the module comment for what it promises. */
export function runChild(options: ChildOptions): RunningChild {
  const start = locate(options.file, options.env, options.cwd);
  if ('refusal' in start) return notStarted(start.refusal, start.exitCode, options.onOutput);
  let pty: typeof NodePty | undefined;
  if (options.pty) {
    pty = loadPty();
    if (!pty) return notStarted(`sluice: cannot start ${options.file} in a terminal: node-pty (a native module) is not installed or did not build here; run it with pipes instead\n`, EXIT_CANNOT_EXECUTE, options.onOutput);
  }
  try {
    return pty ? runInPty(pty, start.path, options) : runWithPipes(start.path, options);
  } catch (error) {
    // fork/exec failures the checks above did not foresee (EAGAIN, ENOMEM, a bad pty).
    return notStarted(`sluice: cannot start ${options.file}: ${(error as Error).message}`, EXIT_CANNOT_EXECUTE, options.onOutput);
  }
}

function runInPty(pty: typeof NodePty, path: string, options: ChildOptions): RunningChild {
  const terminal = pty.spawn(path, [...options.args], {
    name: options.env.TERM ?? 'xterm-256color',
    cols: clampSize(options.cols ?? 80),
    rows: clampSize(options.rows ?? 24),
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    env: { ...options.env },
    encoding: 'utf8',
  });
  keepTailOnExit(terminal);
  let exited = false;
  const data = terminal.onData((chunk) => options.onOutput(chunk, 'pty'));
  const stdin = options.stdin;
  const onInput = (chunk: Buffer | string) => {
    if (!exited) terminal.write(chunk);
  };
  const onEnd = () => {
    if (!exited) terminal.write('\x04');
  };
  stdin?.on('data', onInput);
  stdin?.on('end', onEnd);
  // node-pty reports exit only once the terminal's output is all read.
  const done = new Promise<ChildExit>((resolveExit) => {
    terminal.onExit(({ exitCode, signal }) => {
      exited = true;
      data.dispose();
      stdin?.off('data', onInput);
      stdin?.off('end', onEnd);
      const name = signal ? signalName(signal) : null;
      resolveExit(name ? { exitCode: null, signal: name } : { exitCode, signal: null });
    });
  });
  return {
    pid: terminal.pid,
    resize(cols, rows) {
      if (!exited) terminal.resize(clampSize(cols), clampSize(rows));
    },
    kill(signal = 'SIGTERM') {
      if (exited) return;
      try {
        terminal.kill(signal);
      } catch {
        // Gone between the exit and its report.
      }
    },
    pause: () => terminal.pause(),
    resume: () => terminal.resume(),
    done,
  };
}

function runWithPipes(path: string, options: ChildOptions): RunningChild {
  const stdin = options.stdin;
  const child: ChildProcess = spawnProcess(path, [...options.args], {
    env: { ...options.env },
    ...(options.cwd !== undefined && { cwd: options.cwd }),
    stdio: [stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    // The argv[0] the program sees is the name it was asked for, as a shell would give it.
    argv0: options.file,
  });
  child.stdout!.setEncoding('utf8');
  child.stderr!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => options.onOutput(chunk, 'stdout'));
  child.stderr!.on('data', (chunk: string) => options.onOutput(chunk, 'stderr'));
  if (stdin && child.stdin) {
    // A child that stops reading (or exits) must not crash the gateway with EPIPE.
    child.stdin.on('error', () => undefined);
    stdin.pipe(child.stdin);
  }
  let exited = false;
  const done = new Promise<ChildExit>((resolveExit) => {
    let exit: ChildExit | undefined;
    let drain: NodeJS.Timeout | undefined;
    const finish = () => {
      if (!exit) return;
      clearTimeout(drain);
      if (stdin && child.stdin) stdin.unpipe(child.stdin);
      resolveExit(exit);
    };
    child.once('error', (error: NodeJS.ErrnoException) => {
      // spawn itself failed (the checks in locate() make this rare): no 'exit' follows.
      if (exit || child.pid !== undefined) return;
      exited = true;
      options.onOutput(`sluice: cannot start ${options.file}: ${error.code ?? error.message}\n`, 'stderr');
      exit = { exitCode: error.code === 'ENOENT' ? EXIT_NOT_FOUND : EXIT_CANNOT_EXECUTE, signal: null };
      finish();
    });
    child.once('exit', (code, signal) => {
      exited = true;
      exit = { exitCode: signal ? null : code, signal: signal ?? null };
      // Output still in the pipes comes before `close`; a grandchild holding them open must
      // not hold the command open forever.
      drain = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish();
      }, PIPE_DRAIN_MS);
      drain.unref();
    });
    child.once('close', finish);
  });
  return {
    pid: child.pid ?? 0,
    resize() {
      // Pipes have no size.
    },
    kill(signal = 'SIGTERM') {
      if (!exited) child.kill(signal);
    },
    pause() {
      child.stdout?.pause();
      child.stderr?.pause();
    },
    resume() {
      child.stdout?.resume();
      child.stderr?.resume();
    },
    done,
  };
}

/** The executable to run, or why it cannot run (with the shell's exit code for it). */
function locate(file: string, env: Readonly<Record<string, string>>, cwd: string | undefined): { path: string } | { refusal: string; exitCode: number } {
  if (file === '') return { refusal: 'sluice: no command to run\n', exitCode: EXIT_NOT_FOUND };
  if (cwd !== undefined && !isDirectory(cwd)) return { refusal: `sluice: cannot run ${file}: the working directory ${cwd} does not exist or is not a directory\n`, exitCode: EXIT_CANNOT_EXECUTE };
  if (file.includes('/')) {
    const path = isAbsolute(file) ? file : resolve(cwd ?? process.cwd(), file);
    if (!exists(path)) return { refusal: `sluice: ${file}: no such file\n`, exitCode: EXIT_NOT_FOUND };
    return executable(path) ? { path } : { refusal: `sluice: ${file}: permission denied (not an executable file)\n`, exitCode: EXIT_CANNOT_EXECUTE };
  }
  let denied: string | undefined;
  for (const dir of (env.PATH ?? DEFAULT_PATH).split(delimiter)) {
    // An empty PATH entry means the working directory, as in a shell.
    const path = join(dir === '' ? (cwd ?? process.cwd()) : resolve(cwd ?? process.cwd(), dir), file);
    if (!exists(path)) continue;
    if (executable(path)) return { path };
    denied ??= path;
  }
  if (denied) return { refusal: `sluice: ${file}: permission denied (${denied} is not an executable file)\n`, exitCode: EXIT_CANNOT_EXECUTE };
  return { refusal: `sluice: ${file}: command not found (looked on the child's PATH: ${env.PATH ?? `${DEFAULT_PATH}, the default`})\n`, exitCode: EXIT_NOT_FOUND };
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** A child that never started: its reason on 'stderr' (on the next turn, once the caller holds the handle), then its exit. */
function notStarted(reason: string, exitCode: number, onOutput: ChildOptions['onOutput']): RunningChild {
  const done = new Promise<ChildExit>((resolveExit) => {
    setImmediate(() => {
      try {
        onOutput(reason, 'stderr');
      } finally {
        resolveExit({ exitCode, signal: null });
      }
    });
  });
  return { pid: 0, resize: () => undefined, kill: () => undefined, pause: () => undefined, resume: () => undefined, done };
}

/** How long after the child's exit its output may take to drain before the terminal is closed anyway. */
const PTY_DRAIN_MS = 10_000;
/** After the child's exit, the terminal is closed once its output has been quiet this long. */
const OUTPUT_QUIET_MS = 30;

/**
 * node-pty (1.1) loses the end of the output of a command that prints a lot just before it
 * exits (a report, a dump): once the child is gone and the terminal's last slave descriptor
 * closes, Linux hangs the terminal up and the master side ends (EOF or EIO) with data still in
 * the terminal's buffers; and node-pty destroys its stream 200 ms after the exit anyway.
 *
 * So the gateway holds a descriptor of the slave side itself (O_NOCTTY: it never becomes the
 * gateway's terminal): the child's exit then hangs nothing up and its output stays readable.
 * node-pty's destroy 200 ms after the exit is the signal that the child is gone: from then on,
 * once the stream has been quiet for OUTPUT_QUIET_MS with nothing buffered, the held descriptor
 * is closed, the terminal hangs up, and the stream ends by itself; at the latest after
 * PTY_DRAIN_MS it is destroyed (a background process still writing to the terminal). What a
 * stream destroyed with an error still buffers is emitted first.
 *
 * This reaches into node-pty's private fields (_socket, _pty); should a later version rename
 * them, nothing breaks (only the tail is less safe), and the child-runner tests say so.
 */
function keepTailOnExit(terminal: NodePty.IPty): void {
  type Stream = {
    destroy?: (...args: unknown[]) => unknown;
    once?: (event: string, listener: () => void) => unknown;
    on?: (event: string, listener: () => void) => unknown;
    read?: () => unknown;
    readableEnded?: boolean;
    readableLength?: number;
    destroyed?: boolean;
  };
  const internals = terminal as unknown as { _socket?: Stream; _pty?: unknown };
  const socket = internals._socket;
  if (!socket || typeof socket.destroy !== 'function' || typeof socket.once !== 'function' || typeof socket.on !== 'function' || typeof socket.read !== 'function' || typeof socket.readableEnded !== 'boolean') return;
  let slave: number | undefined;
  try {
    if (typeof internals._pty === 'string' && internals._pty.startsWith('/dev/')) slave = openSync(internals._pty, fsConstants.O_RDWR | fsConstants.O_NOCTTY);
  } catch {
    // Without it the 200 ms guard is still deferred below.
  }
  const release = () => {
    if (slave === undefined) return;
    try {
      closeSync(slave);
    } catch {
      // Already closed.
    }
    slave = undefined;
  };
  let lastOutput = performance.now();
  socket.on('data', () => (lastOutput = performance.now()));
  socket.once('close', release);
  const destroy = socket.destroy.bind(socket);
  socket.destroy = (...args: unknown[]) => {
    if (args.length > 0) {
      // In flowing mode read() emits what it returns as 'data'.
      while (!socket.destroyed && (socket.readableLength ?? 0) > 0 && socket.read!() !== null);
      release();
      return destroy(...args);
    }
    // The stream's own destroy after its end, or a repeat: as asked.
    if (socket.readableEnded || socket.destroyed) {
      release();
      return destroy();
    }
    const deadline = setTimeout(() => {
      release();
      destroy();
    }, PTY_DRAIN_MS);
    deadline.unref();
    socket.once!('close', () => clearTimeout(deadline));
    const settle = () => {
      if (socket.destroyed || slave === undefined) return;
      if (performance.now() - lastOutput >= OUTPUT_QUIET_MS && (socket.readableLength ?? 0) === 0) release();
      else setTimeout(settle, OUTPUT_QUIET_MS / 3).unref();
    };
    settle();
    return socket;
  };
}

let ptyModule: typeof NodePty | null | undefined;

/** node-pty, loaded on first use: pipes work where its native build is missing. */
function loadPty(): typeof NodePty | undefined {
  if (ptyModule === undefined) {
    try {
      ptyModule = createRequire(import.meta.url)('node-pty') as typeof NodePty;
    } catch {
      ptyModule = null;
    }
  }
  return ptyModule ?? undefined;
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(Object.entries(osConstants.signals).map(([name, number]) => [number, name as NodeJS.Signals]));

function signalName(signal: number): NodeJS.Signals | null {
  return SIGNAL_NAMES.get(signal) ?? null;
}

function clampSize(value: number): number {
  return Number.isFinite(value) ? Math.min(MAX_SIZE, Math.max(MIN_SIZE, Math.round(value))) : 80;
}
