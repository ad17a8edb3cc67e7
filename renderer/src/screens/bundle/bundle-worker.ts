import type { Ed25519PublicJwk } from '../../../../proxy/common/checkpoint-verify.js';
import { BundleHolder, type OpenPhase } from './bundle-core.js';

// The Web Worker that reads and verifies an opened bundle off the page's thread (see
// bundle-core.ts). The page sends one request at a time and waits for its answer.

export type WorkerRequest =
  | { readonly id: number; readonly op: 'open'; readonly file: Blob; readonly key?: Ed25519PublicJwk }
  | { readonly id: number; readonly op: 'verify'; readonly key?: Ed25519PublicJwk }
  | { readonly id: number; readonly op: 'events'; readonly sessionId: string };

export type WorkerResponse =
  | { readonly id: number; readonly phase: OpenPhase }
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly message: string };

/** The worker's global scope, as much of it as this file uses (the DOM and WebWorker libs cannot both be loaded). */
interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerResponse): void;
}

const scope = globalThis as unknown as WorkerScope;
const holder = new BundleHolder();

scope.onmessage = (message) => {
  const request = message.data;
  const post = (response: WorkerResponse) => scope.postMessage(response);
  const phase = (name: OpenPhase) => post({ id: request.id, phase: name });
  const run = async (): Promise<unknown> => {
    switch (request.op) {
      case 'open':
        return holder.open(request.file, request.key, phase);
      case 'verify':
        return holder.verify(request.key, phase);
      case 'events':
        return holder.events(request.sessionId);
    }
  };
  run().then(
    (value) => post({ id: request.id, ok: true, value }),
    (error: unknown) => post({ id: request.id, ok: false, message: error instanceof Error ? error.message : String(error) }),
  );
};
