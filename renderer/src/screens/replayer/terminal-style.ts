import type { ReplayFrame } from './replay-frames.js';

// Transcript frames as terminal text: colour by what a line says (a denial in red, masking in
// the masking colour, approvals in yellow or green, comments dim), search matches highlighted,
// and \r\n line ends (xterm moves down on \n but does not return to the first column).
// Transcript text has passed through printable() already, so the only escape sequences in it
// are the ones added here. Every line resets its style, so any tail of lines stands alone.

const RESET = '\x1b[0m';
const HIGHLIGHT = '\x1b[30;103m';
const END_HIGHLIGHT = '\x1b[39;49m';

/** SGR prefixes; xterm's palette maps them to the theme's colours (terminal-theme.ts). */
const STYLE = {
  plain: '',
  prompt: '\x1b[1;34m',
  muted: '\x1b[90m',
  deny: '\x1b[1;31m',
  error: '\x1b[31m',
  warn: '\x1b[33m',
  approve: '\x1b[32m',
  mask: '\x1b[35m',
} as const;

type Style = (typeof STYLE)[keyof typeof STYLE];

interface Segment {
  readonly text: string;
  readonly style: Style;
}

/** A frame's lines, styled, each ending in \r\n. Raw terminal output is passed through as recorded. */
export function styleFrame(frame: ReplayFrame, search?: string): string[] {
  if (frame.raw) return [frame.text];
  const lines = frame.text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const needle = search ? search.toLowerCase() : '';
  return lines.map((line) => renderLine(segmentsOf(frame.kind, line), needle));
}

function segmentsOf(kind: ReplayFrame['kind'], line: string): Segment[] {
  if (kind === 'statement') {
    const prompt = /^[^\s]*?[=-]> /.exec(line);
    if (prompt) return [{ text: prompt[0], style: STYLE.prompt }, { text: line.slice(prompt[0].length), style: STYLE.plain }];
    if (line.startsWith('-- params:')) return [{ text: line, style: STYLE.muted }];
    return [{ text: line, style: STYLE.plain }];
  }
  return [{ text: line, style: lineStyle(kind, line) }];
}

function lineStyle(kind: ReplayFrame['kind'], line: string): Style {
  if (line.startsWith('ERROR:')) return STYLE.error;
  if (!line.startsWith('-- ')) {
    if (kind === 'notice' && /^[A-Z]+: /.test(line)) return STYLE.warn;
    return line.startsWith('Time: ') ? STYLE.muted : STYLE.plain;
  }
  if (line.startsWith('-- denied') || line.startsWith('-- approval denied') || /: (result stopped|statement refused|approval refused)/.test(line)) return STYLE.deny;
  if (line.startsWith('-- masked:')) return STYLE.mask;
  if (line.startsWith('-- approved') || line.includes('under the session grant') || line.includes(': approved, the result goes on')) return STYLE.approve;
  if (line.startsWith('-- waiting for approval') || / needs approval$/.test(line) || line.includes('held for approval') || /^-- approval \S+ (expired|cancelled)/.test(line) || line.startsWith('-- no answer')) return STYLE.warn;
  return STYLE.muted;
}

function renderLine(segments: readonly Segment[], needle: string): string {
  const ranges = needle ? matchRanges(segments.map((segment) => segment.text).join(''), needle) : [];
  let out = '';
  let offset = 0;
  for (const segment of segments) {
    out += segment.style;
    out += ranges.length > 0 ? highlighted(segment.text, offset, ranges, segment.style) : segment.text;
    out += segment.style ? RESET : '';
    offset += segment.text.length;
  }
  return `${out}${ranges.length > 0 ? RESET : ''}\r\n`;
}

/** Where `needle` (lower case) occurs in `text`, case-insensitively: [start, end) pairs. */
export function matchRanges(text: string, needle: string): [number, number][] {
  if (!needle) return [];
  const haystack = text.toLowerCase();
  const ranges: [number, number][] = [];
  for (let at = haystack.indexOf(needle); at !== -1; at = haystack.indexOf(needle, at + needle.length)) ranges.push([at, at + needle.length]);
  return ranges;
}

function highlighted(text: string, offset: number, ranges: readonly [number, number][], style: Style): string {
  let out = '';
  let cursor = 0;
  for (const [start, end] of ranges) {
    const from = Math.max(start - offset, cursor);
    const to = Math.min(end - offset, text.length);
    if (to <= from) continue;
    out += text.slice(cursor, from) + HIGHLIGHT + text.slice(from, to) + END_HIGHLIGHT + style;
    cursor = to;
  }
  return out + text.slice(cursor);
}
