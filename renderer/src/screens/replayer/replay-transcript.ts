import type { TranscriptEvent, TranscriptSession } from '../../../../proxy/common/transcript.js';
import { record } from './payload-fields.js';
import { replayFrames, type ReplayFrame } from './replay-frames.js';
import type { Timeline } from './timeline.js';

// The transcript of a session, rendered a window at a time. transcriptFrames() over a whole
// 100,000-event session takes seconds; the terminal only ever holds its last TAIL_LINES lines.
// So the player renders the events it needs, in a window cut where nothing spans the cut, and
// the frames come out exactly as the whole session's transcript has them.
//
// What spans events in transcriptFrames (proxy/common/transcript.ts): a decision that refused or
// held a statement is paired with the later `query` event that reports it (first in, first
// out), and an approval's `requested` event is left out when a decision names the approval
// (recorded right after it). A cut is clean where no decision waits for its query and the
// event before it is not an approval request.

/** Lines the terminal keeps behind the position: a seek writes at most this many. */
export const TAIL_LINES = 1_000;

export type TranscriptSessionInfo = TranscriptSession & { readonly protocol?: string };

export class ReplayTranscript {
  /** clean[i]: a window may start at event i, or end just before it. */
  readonly #clean: Uint8Array;

  constructor(
    readonly session: TranscriptSessionInfo,
    readonly events: readonly TranscriptEvent[],
  ) {
    this.#clean = cleanCuts(events);
  }

  /** The frames of events[from..to] (inclusive), as the whole session's transcript has them. */
  framesOf(from: number, to: number): ReplayFrame[] {
    const { events } = this;
    const first = Math.max(0, from);
    const last = Math.min(events.length - 1, to);
    if (last < first) return [];
    let start = first;
    while (start > 0 && !this.#clean[start]) start--;
    let end = last + 1;
    while (end < events.length && !this.#clean[end]) end++;
    const fromSeq = events[first]!.seq;
    const toSeq = events[last]!.seq;
    return replayFrames(this.session, events.slice(start, end)).filter((frame) => frame.seq >= fromSeq && frame.seq <= toSeq);
  }

  /**
   * The frames that put the last `maxLines` lines on screen with events 0..`last` shown: found by
   * rendering windows back from `last`, growing until they hold enough lines.
   */
  tail(last: number, maxLines = TAIL_LINES): { readonly frames: ReplayFrame[]; readonly skipLines: number } {
    if (last < 0) return { frames: [], skipLines: 0 };
    let span = 128;
    for (;;) {
      const from = Math.max(0, last + 1 - span);
      const frames = this.framesOf(from, last);
      let lines = 0;
      let first = frames.length;
      while (first > 0 && lines < maxLines) lines += lineCount(frames[--first]!.text);
      if (lines >= maxLines || from === 0) return { frames: frames.slice(first), skipLines: Math.max(0, lines - maxLines) };
      // Not enough lines yet: widen by what this window's lines per event suggest, with a margin.
      span = Math.max(span * 2, Math.ceil((span * maxLines * 1.25) / Math.max(1, lines)));
    }
  }

  /**
   * The statement line of a query still running at `position` (psql shows the statement when it
   * is sent, its result when it ends): the next event's statement frame once the position has
   * passed its start, or undefined.
   */
  runningStatement(timeline: Timeline, last: number, position: number): ReplayFrame | undefined {
    const next = last + 1;
    const event = this.events[next];
    if (!event || event.kind !== 'query') return undefined;
    const duration = record(event.payload).duration_ms;
    if (typeof duration !== 'number' || !(duration > 0)) return undefined;
    const gap = timeline.at[next]! - (last >= 0 ? timeline.at[last]! : 0);
    if (position < timeline.at[next]! - Math.min(duration, gap)) return undefined;
    const first = this.framesOf(next, next)[0];
    return first?.kind === 'statement' ? first : undefined;
  }
}

/** Where a window may be cut (see the file comment); mirrors transcript.ts's pairing. */
function cleanCuts(events: readonly TranscriptEvent[]): Uint8Array {
  const clean = new Uint8Array(events.length + 1);
  clean[0] = 1;
  let waiting = 0;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.kind === 'decision') waiting++;
    else if (event.kind === 'query' && waiting > 0) {
      const effect = record(record(event.payload).decision).effect;
      if (effect === 'deny' || effect === 'approve') waiting--;
    }
    const requested = event.kind === 'approval' && record(event.payload).action === 'requested';
    clean[i + 1] = waiting === 0 && !requested ? 1 : 0;
  }
  clean[events.length] = 1;
  return clean;
}

export function lineCount(text: string): number {
  let count = 0;
  for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) count++;
  // Raw terminal output may end without a newline: its last line still takes a row.
  return text.length > 0 && !text.endsWith('\n') ? count + 1 : count;
}
