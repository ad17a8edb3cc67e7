import type { ChainedEvent } from '../../../../proxy/common/audit-chain-types.js';
import type { Ed25519PublicJwk } from '../../../../proxy/common/checkpoint-verify.js';
import { BundleHolder, type OpenedBundle, type OpenPhase } from './bundle-core.js';
import type { WorkerRequest, WorkerResponse } from './bundle-worker.js';

// The page's handle on an open bundle. A Web Worker does the reading, hashing and parsing so a
// bundle of tens of megabytes leaves the page responsive; where no worker can start (a test's
// DOM, a browser that refuses it) the same BundleHolder runs on the page instead.

export interface BundleOpener {
  open(file: Blob, key: Ed25519PublicJwk | undefined, onPhase: (phase: OpenPhase) => void): Promise<OpenedBundle>;
  /** Verifies the open bundle again (with a trusted key, or without one). */
  verify(key: Ed25519PublicJwk | undefined, onPhase: (phase: OpenPhase) => void): Promise<OpenedBundle>;
  events(sessionId: string): Promise<readonly ChainedEvent[]>;
  close(): void;
}

export function createBundleOpener(): BundleOpener {
  return typeof Worker === 'function' ? new FallbackOpener() : new InProcessOpener();
}

class InProcessOpener implements BundleOpener {
  readonly #holder = new BundleHolder();

  open(file: Blob, key: Ed25519PublicJwk | undefined, onPhase: (phase: OpenPhase) => void): Promise<OpenedBundle> {
    return this.#holder.open(file, key, onPhase);
  }

  verify(key: Ed25519PublicJwk | undefined, onPhase: (phase: OpenPhase) => void): Promise<OpenedBundle> {
    return this.#holder.verify(key, onPhase);
  }

  async events(sessionId: string): Promise<readonly ChainedEvent[]> {
    return this.#holder.events(sessionId);
  }

  close(): void {}
}

/** Thrown when the worker itself fails (it could not load, or it crashed), not the bundle. */
class WorkerFailed extends Error {}

class WorkerOpener implements BundleOpener {
  readonly #worker: Worker;
  #next = 0;
  readonly #pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; onPhase?: (phase: OpenPhase) => void }>();

  constructor() {
    this.#worker = new Worker(new URL('./bundle-worker.ts', import.meta.url), { type: 'module', name: 'sluice-bundle' });
    this.#worker.onmessage = (event: MessageEvent<WorkerResponse>) => {
      const response = event.data;
      const waiting = this.#pending.get(response.id);
      if (!waiting) return;
      if ('phase' in response) {
        waiting.onPhase?.(response.phase);
        return;
      }
      this.#pending.delete(response.id);
      if (response.ok) waiting.resolve(response.value);
      else waiting.reject(new Error(response.message));
    };
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#failAll(new WorkerFailed(event.message || 'the bundle checker could not start'));
    };
    this.#worker.onmessageerror = () => this.#failAll(new WorkerFailed('the bundle checker sent an answer the page cannot read'));
  }

  open(file: Blob, key: Ed25519PublicJwk | undefined, onPhase: (phase: OpenPhase) => void): Promise<OpenedBundle> {
    return this.#request({ op: 'open', file, ...(key && { key }) }, onPhase) as Promise<OpenedBundle>;
  }

  verify(key: Ed25519PublicJwk | undefined, onPhase: (phase: OpenPhase) => void): Promise<OpenedBundle> {
    return this.#request({ op: 'verify', ...(key && { key }) }, onPhase) as Promise<OpenedBundle>;
  }

  events(sessionId: string): Promise<readonly ChainedEvent[]> {
    return this.#request({ op: 'events', sessionId }) as Promise<readonly ChainedEvent[]>;
  }

  close(): void {
    this.#worker.terminate();
    this.#failAll(new WorkerFailed('closed'));
  }

  // The union's members each lose `id` here; it is added back below.
  #request(request: DistributiveOmit<WorkerRequest, 'id'>, onPhase?: (phase: OpenPhase) => void): Promise<unknown> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, ...(onPhase && { onPhase }) });
      this.#worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  #failAll(error: Error): void {
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The worker, until it fails to start or crashes: then the page checks the bundle itself (slower
 * to paint while it works, but correct). The bundle is opened again from the file on the page.
 */
class FallbackOpener implements BundleOpener {
  #opener: BundleOpener;
  #usingWorker: boolean;
  #file: Blob | undefined;
  #closed = false;

  constructor() {
    try {
      this.#opener = new WorkerOpener();
      this.#usingWorker = true;
    } catch {
      this.#opener = new InProcessOpener();
      this.#usingWorker = false;
    }
  }

  async open(file: Blob, key: Ed25519PublicJwk | undefined, onPhase: (phase: OpenPhase) => void): Promise<OpenedBundle> {
    this.#file = file;
    return this.#withFallback(() => this.#opener.open(file, key, onPhase), (opener) => opener.open(file, key, onPhase));
  }

  verify(key: Ed25519PublicJwk | undefined, onPhase: (phase: OpenPhase) => void): Promise<OpenedBundle> {
    const file = this.#file;
    return this.#withFallback(
      () => this.#opener.verify(key, onPhase),
      (opener) => (file ? opener.open(file, key, onPhase) : opener.verify(key, onPhase)),
    );
  }

  async events(sessionId: string): Promise<readonly ChainedEvent[]> {
    const file = this.#file;
    return this.#withFallback(
      () => this.#opener.events(sessionId),
      async (opener) => {
        if (file) await opener.open(file, undefined, () => undefined);
        return opener.events(sessionId);
      },
    );
  }

  close(): void {
    this.#closed = true;
    this.#opener.close();
  }

  async #withFallback<T>(attempt: () => Promise<T>, again: (opener: BundleOpener) => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof WorkerFailed) || !this.#usingWorker || this.#closed) throw error;
      this.#opener.close();
      this.#opener = new InProcessOpener();
      this.#usingWorker = false;
      return again(this.#opener);
    }
  }
}
