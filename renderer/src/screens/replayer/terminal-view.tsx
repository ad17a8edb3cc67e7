import { Terminal } from '@xterm/xterm';
import { useEffect, useRef } from 'react';
import { TAIL_LINES, type ReplayTranscript } from './replay-transcript.js';
import { TerminalSync } from './terminal-sync.js';
import { terminalTheme } from './terminal-theme.js';
import type { Timeline } from './timeline.js';
import { TerminalWriter } from './terminal-writer.js';

// The terminal itself: xterm.js showing the transcript as it stood at a timeline position.
// Declarative for the Replayer (it says where; TerminalSync decides what to write), and the one part of the
// player that needs a real browser (jsdom has no canvas or layout): component tests replace
// this module, the e2e test and the benchmark run it in Chromium.

export interface TerminalViewProps {
  readonly transcript: ReplayTranscript;
  readonly timeline: Timeline;
  /** ms on the timeline. */
  readonly position: number;
  /** Text to highlight (case-insensitive); empty for none. */
  readonly search: string;
}

/** Hides the cursor: nobody types into a replay. */
const HIDE_CURSOR = '\x1b[?25l';
/** xterm's scrollbar takes this much of the width (addon-fit's allowance). */
const SCROLLBAR_PX = 14;

interface Mounted {
  readonly terminal: Terminal;
  readonly sync: TerminalSync;
}


export function TerminalView({ transcript, timeline, position, search }: TerminalViewProps) {
  const container = useRef<HTMLDivElement>(null);
  const mounted = useRef<Mounted | undefined>(undefined);
  const latest = useRef({ transcript, timeline, position, search });
  latest.current = { transcript, timeline, position, search };

  useEffect(() => {
    const element = container.current;
    if (!element) return;
    const terminal = new Terminal({
      disableStdin: true,
      scrollback: TAIL_LINES + 100,
      fontFamily: getComputedStyle(element).fontFamily || 'monospace',
      fontSize: 13,
      lineHeight: 1.15,
      cursorBlink: false,
      cursorInactiveStyle: 'none',
      theme: terminalTheme(),
      allowProposedApi: false,
    });
    terminal.open(element);
    const writer = new TerminalWriter(terminal, () => {
      // The benchmark and the e2e test wait on this: the picture up to this event is parsed.
      element.dataset.shownEvent = String(sync.shown ?? -1);
    });
    const sync = new TerminalSync(writer);
    terminal.write(HIDE_CURSOR);
    mounted.current = { terminal, sync };
    fit(terminal, element);
    const initial = latest.current;
    sync.show(initial.transcript, initial.timeline, initial.position, initial.search);

    const resize = new ResizeObserver(() => fit(terminal, element));
    resize.observe(element);
    const scheme = matchMedia('(prefers-color-scheme: dark)');
    const retheme = () => {
      terminal.options.theme = terminalTheme();
    };
    scheme.addEventListener('change', retheme);
    return () => {
      resize.disconnect();
      scheme.removeEventListener('change', retheme);
      mounted.current = undefined;
      writer.dispose();
      terminal.dispose();
    };
  }, []);

  useEffect(() => {
    mounted.current?.sync.show(transcript, timeline, position, search);
  }, [transcript, timeline, position, search]);

  return <div ref={container} className="replay-terminal" role="region" aria-label="Session transcript (terminal)" data-testid="terminal" />;
}

/** Fits the terminal's rows and columns to its box (what @xterm/addon-fit does). */
function fit(terminal: Terminal, element: HTMLElement): void {
  const cell = cellSize(terminal);
  if (!cell) return;
  const style = getComputedStyle(element);
  const width = element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - SCROLLBAR_PX;
  const height = element.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
  const cols = Math.max(20, Math.floor(width / cell.width));
  const rows = Math.max(5, Math.floor(height / cell.height));
  if (cols !== terminal.cols || rows !== terminal.rows) terminal.resize(cols, rows);
}

/**
 * The size of one character cell. xterm measures it but has no public API for it; addon-fit
 * reads the same private field. Undefined until xterm has measured (then fit waits for a resize).
 */
function cellSize(terminal: Terminal): { width: number; height: number } | undefined {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- private field, read defensively as addon-fit does
  const core = (terminal as any)._core as { _renderService?: { dimensions?: { css?: { cell?: { width: number; height: number } } } } } | undefined;
  const cell = core?._renderService?.dimensions?.css?.cell;
  return cell && cell.width > 0 && cell.height > 0 ? cell : undefined;
}
