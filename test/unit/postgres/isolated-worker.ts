import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/** tsx's ESM loader API, found through its package exports (the `require` entry would give the CJS build). */
function tsxEsmApi(): string {
  const manifestPath = createRequire(import.meta.url).resolve('tsx/package.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { exports: Record<string, { import: { default: string } }> };
  return pathToFileURL(join(dirname(manifestPath), manifest.exports['./esm/api']!.import.default)).href;
}

export interface WorkerRun<M> {
  /** Messages the worker posted before it finished or was stopped. */
  readonly messages: M[];
  /** True when the worker was still running at the deadline (a synchronous hang) and was terminated. */
  readonly hung: boolean;
}

const STARTUP_TIMEOUT_MS = 20_000;

/**
 * Runs the TypeScript module `script` in a worker thread (through tsx, as serve-process.ts runs
 * the CLI) and collects what it posts until it posts `{ done: true }`, fails, or misses the
 * deadline, counted from its `{ ready: true }` so a slow start is not taken for a hang. A decoder
 * stuck in a loop blocks its thread, so only another thread can time it out.
 */
export async function runInWorker<M>(script: URL, workerData: unknown, deadlineMs: number): Promise<WorkerRun<M>> {
  const source = `import(${JSON.stringify(tsxEsmApi())}).then(({ tsImport }) => tsImport(${JSON.stringify(script.href)}, ${JSON.stringify(script.href)}))`;
  const worker = new Worker(source, { eval: true, workerData });
  const messages: M[] = [];
  try {
    const hung = await new Promise<boolean>((resolve, reject) => {
      let timer = setTimeout(() => reject(new Error(`the worker did not start within ${STARTUP_TIMEOUT_MS} ms`)), STARTUP_TIMEOUT_MS);
      worker.on('message', (message: M & { done?: boolean; ready?: boolean }) => {
        if (message.ready) {
          clearTimeout(timer);
          timer = setTimeout(() => resolve(true), deadlineMs);
        } else if (message.done) {
          clearTimeout(timer);
          resolve(false);
        } else {
          messages.push(message);
        }
      });
      worker.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      worker.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the worker exited with code ${code} before it was done`));
      });
    });
    return { messages, hung };
  } finally {
    worker.removeAllListeners('exit');
    await worker.terminate();
  }
}
