import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../proxy/cli/main.ts', import.meta.url));

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** The engine API's base URL, when the config has listen.api. */
  readonly apiUrl: string | undefined;
  stdout(): string;
  stderr(): string;
  /** Resident memory now, from /proc (bytes). */
  rss(): number;
  /** Peak resident memory since the process started (bytes). */
  peakRss(): number;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs `sluice serve --config FILE` as its own process, as an operator would, and waits for its banner. */
export async function startServeProcess(configFile: string, env: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--config', configFile], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = await new Promise<{ host: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice serve did not start within 20s\n${stdout}\n${stderr}`)), 20_000);
    const check = () => {
      const match = /postgres listening on \[?([^\]\s]+?)\]?:(\d+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ host: match[1]!, port: Number(match[2]) });
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`sluice serve exited with ${code}\n${stdout}\n${stderr}`));
    });
  });
  return {
    child,
    pid: child.pid!,
    ...address,
    apiUrl: /api listening on (\S+)/.exec(stdout)?.[1],
    stdout: () => stdout,
    stderr: () => stderr,
    rss: () => memoryKb(child.pid!, 'VmRSS') * 1024,
    peakRss: () => memoryKb(child.pid!, 'VmHWM') * 1024,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

function memoryKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  return Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
}
