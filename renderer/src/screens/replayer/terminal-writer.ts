import type { TerminalSink } from './terminal-sync.js';

// xterm parses what it is given asynchronously, and a thousand lines take it tens of
// milliseconds (hundreds before the JIT has warmed up). Two things keep seeks quick:
// - latest wins: scrubbing asks for a new picture on every pointer move; xterm gets one chunk
//   at a time, and a replace drops whatever has not been handed over yet, so the terminal never
//   lags more than one write behind the pointer;
// - screen first: a replace writes the lines that fill the screen at once, and the scrollback
//   behind them a moment later (again latest wins: a drag never pays for scrollback it leaves).
//   Both end with the same lines at the bottom, so the second write changes nothing visible.

/** The part of xterm's Terminal used here. */
export interface WritableTerminal {
  write(data: string, callback?: () => void): void;
  readonly rows: number;
}

/** RIS (full reset: screen and scrollback, in order with the writes around it), then hide the cursor again. */
const FULL_RESET = '\x1bc\x1b[?25l';
/** How long the scrollback waits for the picture to settle (a drag moves on sooner). */
const BACKFILL_DELAY_MS = 120;
/** Lines beyond the screen written first: wrapped lines take more than one row. */
const SCREEN_MARGIN = 4;

export class TerminalWriter implements TerminalSink {
  #pending: string[] = [];
  #writing = false;
  /** The whole text of the last replace (and appends since), while only its screenful is written. */
  #backfill: string | undefined;
  #backfillTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly terminal: WritableTerminal,
    /** Called each time the picture is current: every write so far parsed. */
    private readonly onIdle: () => void = () => undefined,
  ) {}

  get idle(): boolean {
    return !this.#writing && this.#pending.length === 0;
  }

  replace(text: string): void {
    const screen = lastLines(text, this.terminal.rows + SCREEN_MARGIN);
    this.#pending = [FULL_RESET + screen];
    this.#backfill = screen.length < text.length ? text : undefined;
    this.#pump();
  }

  append(text: string): void {
    if (text === '') return;
    if (this.#backfill !== undefined) this.#backfill += text;
    this.#pending.push(text);
    this.#pump();
  }

  dispose(): void {
    clearTimeout(this.#backfillTimer);
    this.#backfill = undefined;
    this.#pending = [];
  }

  #pump(): void {
    if (this.#writing) return;
    if (this.#pending.length === 0) {
      this.onIdle();
      this.#scheduleBackfill();
      return;
    }
    const data = this.#pending.join('');
    this.#pending = [];
    this.#writing = true;
    this.terminal.write(data, () => {
      this.#writing = false;
      this.#pump();
    });
  }

  #scheduleBackfill(): void {
    clearTimeout(this.#backfillTimer);
    if (this.#backfill === undefined) return;
    const backfill = this.#backfill;
    this.#backfillTimer = setTimeout(() => {
      // Something newer came meanwhile: it has its own backfill, or none.
      if (this.#backfill !== backfill || !this.idle) return;
      this.#backfill = undefined;
      this.#pending = [FULL_RESET + backfill];
      this.#pump();
    }, BACKFILL_DELAY_MS);
  }
}

/** The last `count` lines of `text` (lines end with \r\n). */
export function lastLines(text: string, count: number): string {
  let at = text.length;
  // A trailing line end closes the last line; it is not a line of its own.
  if (text.endsWith('\r\n')) at -= 2;
  for (let found = 0; found < count; found++) {
    const previous = text.lastIndexOf('\r\n', at - 1);
    if (previous === -1) return text;
    at = previous;
  }
  return text.slice(at + 2);
}
