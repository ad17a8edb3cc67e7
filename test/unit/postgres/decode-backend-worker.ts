import { parentPort, workerData } from 'node:worker_threads';
import { decodeBackend } from '../../../proxy/postgres/backend-decode.js';
import { MessageReader, type Frame, type ReaderLimits } from '../../../proxy/postgres/message-reader.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { BACKEND_POOL, fuzzCase } from '../../fixtures/postgres/fuzz-inputs.js';
import { prng } from '../../helpers/prng.js';

// Runs decodeBackend where a hang cannot stop the test runner: see isolated-worker.ts.

/** Decode these frames in order, in one module instance (the decoder may keep state between calls). */
export interface FramesJob {
  readonly kind: 'frames';
  readonly frames: readonly string[];
}

/** Frame and decode `cases` fuzz cases from `seed`; `progress[0]` holds the case being decoded. */
export interface FuzzJob {
  readonly kind: 'fuzz';
  readonly seed: number;
  readonly cases: number;
  readonly limits: ReaderLimits;
  readonly progress: SharedArrayBuffer;
}

export type WorkerReport =
  | { readonly outcome: 'decoded'; readonly name: string }
  | { readonly outcome: 'threw'; readonly protocol: boolean; readonly error: string; readonly caseIndex?: number }
  | { readonly outcome: 'fuzzed'; readonly cases: number; readonly messages: number; readonly frames: number };

const post = (report: WorkerReport | { done: true } | { ready: true }) => parentPort!.postMessage(report);
const job = workerData as FramesJob | FuzzJob;
post({ ready: true });

function decode(frame: Frame): WorkerReport {
  try {
    return { outcome: 'decoded', name: decodeBackend(frame).name };
  } catch (error) {
    return { outcome: 'threw', protocol: error instanceof ProtocolError, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

if (job.kind === 'frames') {
  for (const hex of job.frames) {
    const bytes = Buffer.from(hex, 'hex');
    post(decode({ code: bytes[0] ?? 0, buffer: bytes, start: 0, end: bytes.length }));
  }
} else {
  const progress = new Int32Array(job.progress);
  const random = prng(job.seed);
  let messages = 0;
  let frames = 0;
  fuzzing: for (let index = 0; index < job.cases; index++) {
    Atomics.store(progress, 0, index);
    const fuzz = fuzzCase(random, BACKEND_POOL);
    messages += fuzz.messages;
    const reader = new MessageReader(job.limits);
    try {
      for (const chunk of fuzz.chunks) {
        reader.push(chunk);
        let frame: Frame | undefined;
        while ((frame = reader.next())) {
          frames++;
          const report = decode(frame);
          if (report.outcome === 'threw' && !report.protocol) {
            post({ ...report, caseIndex: index });
            break fuzzing;
          }
        }
      }
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        post({ outcome: 'threw', protocol: false, error: String(error), caseIndex: index });
        break;
      }
    }
  }
  post({ outcome: 'fuzzed', cases: job.cases, messages, frames });
}
post({ done: true });
