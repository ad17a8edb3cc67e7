import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { lastLines, TerminalWriter } from '../../renderer/src/screens/replayer/terminal-writer.js';

// What xterm is handed: one chunk at a time, the newest picture only, the screen before the scrollback.

/** A terminal whose writes finish when the test says (xterm parses asynchronously). */
function slowTerminal(rows = 3) {
  const written: string[] = [];
  const callbacks: (() => void)[] = [];
  return {
    written,
    rows,
    write(data: string, callback?: () => void) {
      written.push(data);
      if (callback) callbacks.push(callback);
    },
    finish() {
      callbacks.splice(0).forEach((callback) => callback());
    },
  };
}

const lines = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}\r\n`).join('');
const RESET = '\x1bc\x1b[?25l';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('the terminal writer', () => {
  it('writes the screenful first and the scrollback once the picture has settled', () => {
    const terminal = slowTerminal(3);
    const idle = vi.fn();
    const writer = new TerminalWriter(terminal, idle);
    writer.replace(lines(1, 100));
    expect(terminal.written).toEqual([RESET + lines(94, 100)]);
    terminal.finish();
    expect(idle).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(200);
    expect(terminal.written.at(-1)).toBe(RESET + lines(1, 100));
  });

  it('drops pictures not yet handed over when a newer one comes, and their scrollback too', () => {
    const terminal = slowTerminal(3);
    const writer = new TerminalWriter(terminal);
    writer.replace(lines(1, 100));
    writer.replace(lines(1, 200));
    writer.replace(lines(1, 300));
    expect(terminal.written).toHaveLength(1);
    terminal.finish();
    expect(terminal.written.at(-1)).toBe(RESET + lines(294, 300));
    terminal.finish();
    vi.advanceTimersByTime(200);
    expect(terminal.written.at(-1)).toBe(RESET + lines(1, 300));
    expect(terminal.written).toHaveLength(3);
  });

  it('keeps appends in order, in the picture and in its scrollback', () => {
    const terminal = slowTerminal(3);
    const writer = new TerminalWriter(terminal);
    writer.replace(lines(1, 50));
    writer.append(lines(51, 52));
    terminal.finish();
    expect(terminal.written.at(-1)).toBe(lines(51, 52));
    terminal.finish();
    vi.advanceTimersByTime(200);
    expect(terminal.written.at(-1)).toBe(RESET + lines(1, 52));
  });

  it('cuts whole lines', () => {
    expect(lastLines('a\r\nb\r\nc\r\n', 2)).toBe('b\r\nc\r\n');
    expect(lastLines('a\r\nb', 5)).toBe('a\r\nb');
    expect(lastLines('a\r\nb\r\nc', 1)).toBe('c');
  });
});
