import { TAIL_LINES, type ReplayTranscript } from './replay-transcript.js';
import { styleFrame } from './terminal-style.js';
import { eventAt, type Timeline } from './timeline.js';
import type { ReplayFrame } from './replay-frames.js';

// Keeps a terminal showing the transcript as it stood at a timeline position, writing as little
// as possible: moving forward a little (playing) appends the new frames; anything else (a seek
// back, a jump far ahead, a new search, new events from a live session) rewrites the terminal
// with the last TAIL_LINES lines only, so no seek replays the session from its start.

/** Where the text goes: xterm (terminal-writer.ts) in the browser, a string in tests. */
export interface TerminalSink {
  /** Clears the terminal (scrollback too) and writes `text`. */
  replace(text: string): void;
  append(text: string): void;
}

/** Past this many events forward, a rewrite of the tail is cheaper than appending them all. */
const APPEND_EVENTS = 400;

interface Shown {
  readonly transcript: ReplayTranscript;
  readonly search: string;
  /** The last event shown. */
  readonly last: number;
  /** The next event's statement line is on screen too (its query is running). */
  readonly running: boolean;
}

export class TerminalSync {
  #shown: Shown | undefined;

  constructor(
    private readonly sink: TerminalSink,
    private readonly maxLines = TAIL_LINES,
  ) {}

  /** The index of the last event shown (-1: none yet; undefined: nothing written yet). */
  get shown(): number | undefined {
    return this.#shown?.last;
  }

  /** Shows the transcript as it stood at `position` on `timeline`, with `search` highlighted. */
  show(transcript: ReplayTranscript, timeline: Timeline, position: number, search = ''): void {
    const last = eventAt(timeline, position);
    const runningFrame = transcript.runningStatement(timeline, last, position);
    const running = runningFrame !== undefined;
    const before = this.#shown;
    const same = before !== undefined && before.transcript === transcript && before.search === search;
    if (same && before.last === last && before.running === running) return;
    const forward = same && (last > before.last || (last === before.last && running && !before.running)) && last - before.last <= APPEND_EVENTS;
    if (forward) {
      let frames = last > before.last ? transcript.framesOf(before.last + 1, last) : [];
      // The statement line already on screen is the first frame of its event: not again.
      if (before.running && frames[0]?.kind === 'statement') frames = frames.slice(1);
      if (runningFrame) frames.push(runningFrame);
      this.sink.append(text(frames, 0, search));
    } else {
      const tail = transcript.tail(last, this.maxLines - (running ? 1 : 0));
      this.sink.replace(text(runningFrame ? [...tail.frames, runningFrame] : tail.frames, tail.skipLines, search));
    }
    this.#shown = { transcript, search, last, running };
  }

  /** Forgets what is on screen (a new terminal): the next show() rewrites it. */
  invalidate(): void {
    this.#shown = undefined;
  }
}

function text(frames: readonly ReplayFrame[], skipLines: number, search: string): string {
  let out = '';
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    const lines = styleFrame(frame, search);
    out += (i === 0 && skipLines > 0 && !frame.raw ? lines.slice(skipLines) : lines).join('');
  }
  return out;
}
