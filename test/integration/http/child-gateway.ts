import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SECRET, writeHttpGatewayConfig, type HttpGatewayFiles, type HttpGatewayOptions } from './http-fixture.js';

const CHILD = fileURLToPath(new URL('./gateway-child.ts', import.meta.url));

export interface ChildGateway extends HttpGatewayFiles {
  readonly child: ChildProcess;
  readonly base: string;
  output(): string;
  /** Resident memory now and at its peak, from /proc (bytes). */
  rss(): number;
  peakRss(): number;
  close(): Promise<void>;
}

/**
 * The gateway in a process of its own, from source through tsx (`entry` runs another script with
 * the same contract: config file as argument, `http listening on PORT` on stdout, SIGTERM stops it).
 */
export async function startChildGateway(options: HttpGatewayOptions, entry: readonly string[] = ['--import', 'tsx', CHILD]): Promise<ChildGateway> {
  const files = await writeHttpGatewayConfig(options);
  const child = spawn(process.execPath, [...entry, files.configFile], {
    env: { ...process.env, API_TOKEN: options.secret ?? DEFAULT_SECRET },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the gateway did not start within 30s\n${output}`)), 30_000);
    const check = () => {
      const match = /http listening on (\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the gateway exited\n${output}`));
    });
  });
  const memory = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  return {
    ...files,
    child,
    base: `http://127.0.0.1:${port}`,
    output: () => output,
    rss: () => memory('VmRSS'),
    peakRss: () => memory('VmHWM'),
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(files.dir, { recursive: true, force: true });
    },
  };
}
