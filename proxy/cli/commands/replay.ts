import { setTimeout as delay } from 'node:timers/promises';
import { transcriptFrames, type TranscriptFrame } from '../../common/transcript.js';
import { stringOption, type Command, type ParsedArgs } from '../command.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIo } from '../io.js';
import { withReader } from './sessions.js';

// `sluice replay` plays a recorded session back as a psql transcript, at the pace it happened.
// It reads the store read-only, like `sluice sessions`.

/** Longest wait between two frames: an idle client would otherwise make the auditor wait as long. */
const MAX_GAP_MS = 2_000;

export interface ReplayOptions {
  /** How many times faster than recorded; Infinity prints everything at once. */
  readonly speed: number;
  /** Frames before this time (µs since the epoch, as frame times) are skipped. */
  readonly from?: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly write: (text: string) => void;
  /** Stops the replay between frames. */
  readonly signal?: AbortSignal;
}

/** Writes the frames, sleeping between them by the recorded gap (capped at 2 s) divided by speed. */
export async function replayFrames(frames: readonly TranscriptFrame[], options: ReplayOptions): Promise<void> {
  let previous: number | undefined;
  for (const frame of frames) {
    if (options.from !== undefined && frame.time < options.from) continue;
    if (options.signal?.aborted) return;
    const wait = previous === undefined ? 0 : Math.min(Math.max(frame.time - previous, 0) / 1000, MAX_GAP_MS) / options.speed;
    if (wait > 0) await options.sleep(wait);
    options.write(frame.text);
    previous = frame.time;
  }
}

export const replayCommand: Command = {
  words: ['replay'],
  summary: 'play a recorded session back: a psql transcript, HTTP requests, a terminal (exec, run) or MCP tool calls',
  usage: 'SESSION_ID [--config FILE] [--speed N] [--no-delay] [--from T] [--json]',
  details: [
    'Prints each statement after a psql prompt with what the client saw: result tables from',
    'the recorded (masked) sample, command tags, errors and timings, plus policy decisions',
    'and approvals as comments. Frames follow the recorded timing; pauses longer than 2s',
    'are cut to 2s. --speed N plays N times faster; --no-delay prints everything at once.',
    '--from T starts T seconds into the session (or at an ISO time, e.g. 2025-01-02T10:00:00Z).',
    '--json prints the frames as a JSON array (times in µs since the epoch), without delay.',
    'Control characters in recorded text print as escapes (\\x1b).',
  ],
  options: {
    config: { type: 'string', short: 'c' },
    speed: { type: 'string' },
    'no-delay': { type: 'boolean' },
    from: { type: 'string' },
    json: { type: 'boolean' },
  },
  maxPositionals: 1,
  run: (args, io) => runReplay(args, io, (ms) => delay(ms, undefined, { signal: io.signal }).catch(() => undefined)),
};

/** The command with its sleep injected (tests pass a fake clock). */
export async function runReplay(args: ParsedArgs, io: CliIo, sleep: (ms: number) => Promise<void>): Promise<number> {
  const id = args.positionals[0];
  if (!id) throw new UsageError('sluice replay: which session?', "pass its ID (from 'sluice sessions')");
  const speed = args.values['no-delay'] === true ? Infinity : parseSpeed(stringOption(args, 'speed'));
  const fromText = stringOption(args, 'from');
  const fromOf = fromText === undefined ? undefined : parseFrom(fromText);
  return withReader(args, io, async (reader) => {
    const session = await reader.getSession(id);
    if (!session) {
      io.stderr(`sluice replay: no session ${JSON.stringify(id)} in ${reader.file}; list them with 'sluice sessions'\n`);
      return EXIT_FAILED;
    }
    const from = fromOf?.(session.startedAt);
    const frames = transcriptFrames(session, await reader.listEvents(id));
    if (args.values.json === true) {
      io.stdout(`${JSON.stringify(from === undefined ? frames : frames.filter((frame) => frame.time >= from), null, 2)}\n`);
      return EXIT_OK;
    }
    await replayFrames(frames, { speed, from, sleep, write: io.stdout, signal: io.signal });
    return EXIT_OK;
  });
}

function parseSpeed(text: string | undefined): number {
  if (text === undefined) return 1;
  const speed = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(speed > 0)) throw new UsageError(`--speed must be a positive number, not "${text}"`, 'pass e.g. --speed 4 (four times faster), or --no-delay');
  return speed;
}

/** Seconds into the session, or an ISO time: given the session's start (ms), the time in µs since the epoch. */
function parseFrom(text: string): (startedAt: number) => number {
  if (/^\d+(\.\d+)?$/.test(text)) return (startedAt) => (startedAt + Number(text) * 1000) * 1000;
  const at = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
  if (Number.isNaN(at)) throw new UsageError(`--from must be seconds into the session or an ISO time, not "${text}"`, 'pass e.g. --from 90 or --from 2025-01-02T10:00:00Z');
  return () => at * 1000;
}
