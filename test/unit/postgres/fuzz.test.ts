import { describe, expect, it } from 'vitest';
import { commandTag, rowsOfTag, transactionStatus } from '../../../proxy/postgres/backend-decode.js';
import { observeClientFrame } from '../../../proxy/postgres/frame-observers.js';
import { decodePassword, decodeStartup } from '../../../proxy/postgres/frontend-decode.js';
import { BackendCode, FrontendCode } from '../../../proxy/postgres/message-codes.js';
import { CLIENT_LIMITS, MAX_STARTUP_PACKET, MessageReader, type Frame, type ReaderLimits } from '../../../proxy/postgres/message-reader.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { StatementLog } from '../../../proxy/postgres/statement-log.js';
import { BACKEND_POOL, FRONTEND_POOL, caseHex, fuzzCase, pick, type FuzzCase, type Random } from '../../fixtures/postgres/fuzz-inputs.js';
import { fuzzSeed, prng } from '../../helpers/prng.js';
import type { FuzzJob, WorkerReport } from './decode-backend-worker.js';
import { runInWorker } from './isolated-worker.js';

// Mutated and random protocol input through the framer and every decoder, as the relay drives
// them (proxy/postgres/session-relay.ts). Only ProtocolError may come out: anything else would
// end a session as an "internal error", or worse. A run is reproduced with SLUICE_FUZZ_SEED.

const FRONTEND_CODES: ReadonlySet<number> = new Set(Object.values(FrontendCode));

const SEED = fuzzSeed(Math.floor(Math.random() * 2 ** 32));
const MESSAGES = 100_000;

// The upstream may send 1 GB messages; a mutated length word that claims that much would make
// the reader allocate it. A 1 MB ceiling exercises the same limit logic at fuzzing speed.
const UPSTREAM_FUZZ_LIMITS: ReaderLimits = { maxMessage: 1024 * 1024, maxStartup: MAX_STARTUP_PACKET };

interface Tally {
  messages: number;
  frames: number;
  refused: number;
}

function failure(direction: string, index: number, fuzz: FuzzCase, error: unknown): Error {
  return new Error(`${direction} fuzz case ${index} threw ${String(error)} (reproduce with SLUICE_FUZZ_SEED=${SEED}); input chunks: ${caseHex(fuzz)}`, { cause: error });
}

/** Client bytes as the gateway reads them: startup phase, then each message decoded into the statement log. */
function clientCase(fuzz: FuzzCase, random: Random, tally: Tally): void {
  const reader = new MessageReader(CLIENT_LIMITS, { startup: fuzz.startup });
  const log = new StatementLog(() => {});
  let startup = fuzz.startup;
  for (const chunk of fuzz.chunks) {
    reader.push(chunk);
    let frame: Frame | undefined;
    while ((frame = reader.next())) {
      tally.frames++;
      if (startup) {
        const packet = decodeStartup(frame);
        if (packet.kind === 'cancel') return;
        if (packet.kind === 'startup') {
          startup = false;
          reader.expectStartup(false);
        }
        continue;
      }
      if (frame.code === FrontendCode.Password) decodePassword(frame);
      // The relay's own dispatch; it refuses unknown codes, which are skipped here so reading on
      // covers more decoding.
      else if (FRONTEND_CODES.has(frame.code)) observeClientFrame(log, frame);
      // The server's side of the log, in an order no server would use.
      switch (pick(random, ['row', 'complete', 'empty', 'error', 'ready', 'none'] as const)) {
        case 'row':
          log.dataRow();
          break;
        case 'complete':
          log.commandComplete(pick(random, ['SELECT 1', 'INSERT 0 2', 'CREATE TABLE', '']));
          break;
        case 'empty':
          log.completeWithoutTag();
          break;
        case 'error':
          log.error('22012', 'division by zero');
          break;
        case 'ready':
          log.readyForQuery();
          break;
        case 'none':
          break;
      }
    }
  }
}

/** Upstream bytes through the reader and the hot-path readers the relay applies to every frame. */
function serverCase(fuzz: FuzzCase, tally: Tally): void {
  const reader = new MessageReader(UPSTREAM_FUZZ_LIMITS);
  const log = new StatementLog(() => {});
  log.query('SELECT 1');
  for (const chunk of fuzz.chunks) {
    reader.push(chunk);
    let frame: Frame | undefined;
    while ((frame = reader.next())) {
      tally.frames++;
      switch (frame.code) {
        case BackendCode.DataRow:
          log.dataRow();
          break;
        case BackendCode.CommandComplete: {
          const tag = commandTag(frame);
          expect(Number.isSafeInteger(rowsOfTag(tag))).toBe(true);
          log.commandComplete(tag);
          break;
        }
        case BackendCode.EmptyQueryResponse:
        case BackendCode.PortalSuspended:
          log.completeWithoutTag();
          break;
        case BackendCode.ReadyForQuery:
          expect(['I', 'T', 'E']).toContain(transactionStatus(frame));
          log.readyForQuery();
          log.query('SELECT 1');
          break;
        default:
          // ErrorResponse and ParameterStatus go through decodeBackend: fuzzed in a worker below.
          break;
      }
    }
  }
}

function fuzz(direction: 'client' | 'server', seed: number): Tally & { seconds: number } {
  const random = prng(seed);
  const pool = direction === 'client' ? FRONTEND_POOL : BACKEND_POOL;
  const tally: Tally = { messages: 0, frames: 0, refused: 0 };
  const started = performance.now();
  for (let index = 0; tally.messages < MESSAGES; index++) {
    const input = fuzzCase(random, pool);
    tally.messages += input.messages;
    try {
      if (direction === 'client') clientCase(input, random, tally);
      else serverCase(input, tally);
    } catch (error) {
      if (!(error instanceof ProtocolError)) throw failure(direction, index, input, error);
      expect(error.sqlstate).toMatch(/^(08P01|0A000|54000)$/);
      tally.refused++;
    }
  }
  return { ...tally, seconds: (performance.now() - started) / 1000 };
}

describe(`protocol fuzzing (SLUICE_FUZZ_SEED=${SEED})`, () => {
  it('refuses malformed client input only with ProtocolError, for 100,000 mutated messages', async ({ annotate }) => {
    const result = fuzz('client', SEED);
    await annotate(`${Math.round(result.messages / result.seconds)} messages/s (${result.messages} messages, ${result.frames} frames, ${result.refused} refused, ${result.seconds.toFixed(2)} s)`);
    // A fuzzer that never reaches the decoders, or never trips them, tests nothing.
    expect(result.frames).toBeGreaterThan(MESSAGES / 3);
    expect(result.refused).toBeGreaterThan(MESSAGES / 50);
    expect(result.seconds).toBeLessThan(15);
  });

  it('reads malformed upstream input only with ProtocolError, for 100,000 mutated messages', async ({ annotate }) => {
    const result = fuzz('server', SEED + 1);
    await annotate(`${Math.round(result.messages / result.seconds)} messages/s (${result.messages} messages, ${result.frames} frames, ${result.refused} refused, ${result.seconds.toFixed(2)} s)`);
    expect(result.frames).toBeGreaterThan(MESSAGES / 3);
    expect(result.refused).toBeGreaterThan(MESSAGES / 50);
    expect(result.seconds).toBeLessThan(15);
  });

  // BUGS in backend-decode.ts decodeBackend (see backend-decode.test.ts): pg-protocol throws
  // RangeError/Error on truncated frames, loops forever on an ErrorResponse without its final NUL,
  // and a throw leaves the shared parser poisoned. Runs in a worker so a hang is reported.
  it('decodes mutated upstream messages with decodeBackend only to messages or ProtocolError, without hanging', async () => {
    const progress = new SharedArrayBuffer(4);
    const cases = 20_000;
    const job: FuzzJob = { kind: 'fuzz', seed: SEED + 2, cases, limits: UPSTREAM_FUZZ_LIMITS, progress };
    const run = await runInWorker<WorkerReport>(new URL('./decode-backend-worker.ts', import.meta.url), job, 3_000);
    if (run.hung) {
      // Regenerate the case the worker was stuck in, from the same seed.
      const stuck = Atomics.load(new Int32Array(progress), 0);
      const random = prng(SEED + 2);
      let input = fuzzCase(random, BACKEND_POOL);
      for (let index = 0; index < stuck; index++) input = fuzzCase(random, BACKEND_POOL);
      throw new Error(`decodeBackend hung on fuzz case ${stuck} (SLUICE_FUZZ_SEED=${SEED}); input chunks: ${caseHex(input)}`);
    }
    const failed = run.messages.find((report) => report.outcome === 'threw');
    expect(failed).toBeUndefined();
    expect(run.messages.at(-1)).toMatchObject({ outcome: 'fuzzed', cases });
  });
});
