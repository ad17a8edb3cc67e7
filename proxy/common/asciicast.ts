// A terminal session (protocol exec, recorded by proxy/exec/terminal-recording.ts) as an
// asciicast v2 file: a JSON header line, then one JSON array per event, [time, code, data],
// time in seconds since the start. Codes: "o" output, "i" input, "r" resize ("COLSxROWS"),
// "m" a marker (the exit). No Node API here: the console can build the same file in the browser.
// Recorded payloads are read defensively; what is not a terminal frame is left out.

import { commandLine } from './command-line.js';
import { type Payload, num, record, str } from './payload-fields.js';

export interface AsciicastHeader {
  readonly version: 2;
  readonly width: number;
  readonly height: number;
  /** Unix seconds when the session started. */
  readonly timestamp?: number;
  /** Seconds, the last event's time. */
  readonly duration?: number;
  readonly command?: string;
  readonly title?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export type AsciicastCode = 'o' | 'i' | 'r' | 'm';
export type AsciicastEvent = readonly [time: number, code: AsciicastCode, data: string];

export interface Asciicast {
  readonly header: AsciicastHeader;
  readonly events: readonly AsciicastEvent[];
}

/** What the export reads of a session (a SessionRecord fits). */
export interface AsciicastSession {
  readonly id: string;
  readonly resource?: string;
  readonly protocol?: string;
  /** Epoch ms. */
  readonly startedAt?: number;
}

/** What the export reads of an event (an EventRecord fits). */
export interface AsciicastSourceEvent {
  readonly seq: number;
  /** µs since the epoch. */
  readonly time: number;
  readonly kind: string;
  readonly payload: unknown;
}

export class NotATerminalSessionError extends Error {
  constructor(session: AsciicastSession) {
    super(`session ${session.id} is not a terminal session (protocol ${session.protocol ?? 'unknown'}): only exec sessions export as asciicast; export it as a bundle instead`);
    this.name = 'NotATerminalSessionError';
  }
}


/** The asciicast of a recorded terminal session; throws NotATerminalSessionError for any other session. */
export function asciicastOf(session: AsciicastSession, events: readonly AsciicastSourceEvent[]): Asciicast {
  const start = events.map((event) => record(event.payload)).find((p) => p.channel === 'terminal' && p.action === 'start');
  if (!start && !events.some((event) => record(event.payload).channel === 'terminal')) throw new NotATerminalSessionError(session);
  const origin = num(events.find((event) => record(event.payload).channel === 'terminal')?.time) ?? 0;
  const frames: AsciicastEvent[] = [];
  let last = 0;
  const push = (p: Payload, eventTime: number, code: AsciicastCode, data: string) => {
    // Times never go back: asciicast players require them in order.
    const at = Math.max(last, num(p.t) ?? Math.max(0, (eventTime - origin) / 1_000_000));
    last = at;
    frames.push([round(at), code, data]);
  };
  for (const event of events) {
    const p = record(event.payload);
    if (p.channel !== 'terminal') continue;
    const time = num(event.time) ?? origin;
    if (event.kind === 'output' && typeof p.data === 'string') push(p, time, 'o', p.data);
    else if (event.kind === 'output' && num(p.cols) !== undefined && num(p.rows) !== undefined) push(p, time, 'r', `${num(p.cols)}x${num(p.rows)}`);
    else if (event.kind === 'input' && typeof p.data === 'string') push(p, time, 'i', p.data);
    else if (event.kind === 'notice' && p.action === 'exit') push(p, time, 'm', str(p.message) ?? 'exit');
  }
  const command = Array.isArray(start?.command) ? commandLine(start.command.map(String)) : undefined;
  const header: AsciicastHeader = {
    version: 2,
    width: num(start?.cols) ?? 80,
    height: num(start?.rows) ?? 24,
    ...(session.startedAt !== undefined && { timestamp: Math.floor(session.startedAt / 1000) }),
    duration: round(last),
    ...(command !== undefined && { command }),
    title: `sluice session ${session.id}${session.resource ? ` (${session.resource})` : ''}`,
  };
  return { header, events: frames };
}

/** The file: the header line, then one line per event (JSON escapes every control character). */
export function formatAsciicast(cast: Asciicast): string {
  return `${JSON.stringify(cast.header)}\n${cast.events.map((event) => `${JSON.stringify(event)}\n`).join('')}`;
}

/** Reads an asciicast v2 file; throws an Error naming the line that is not one. */
export function parseAsciicast(text: string): Asciicast {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const header = parseLine(lines[0] ?? '', 1) as Partial<AsciicastHeader> | undefined;
  if (!header || typeof header !== 'object' || Array.isArray(header) || header.version !== 2) throw new Error('line 1: not an asciicast v2 header (an object with "version": 2)');
  if (!isSize(header.width) || !isSize(header.height)) throw new Error('line 1: the header needs "width" and "height" (positive integers)');
  const events: AsciicastEvent[] = [];
  let previous = 0;
  lines.slice(1).forEach((line, index) => {
    const event = parseLine(line, index + 2);
    const [time, code, data] = Array.isArray(event) ? (event as unknown[]) : [];
    if (!Array.isArray(event) || event.length !== 3 || typeof time !== 'number' || !['o', 'i', 'r', 'm'].includes(String(code)) || typeof data !== 'string') {
      throw new Error(`line ${index + 2}: not an asciicast event [time, "o"|"i"|"r"|"m", data]`);
    }
    if (time < previous) throw new Error(`line ${index + 2}: time ${time} is before the previous event's (${previous})`);
    previous = time;
    events.push([time, code as AsciicastCode, data]);
  });
  return { header: header as AsciicastHeader, events };
}

/** The output a player writes to the terminal: every "o" frame in order. */
export function asciicastOutput(cast: Asciicast): string {
  return cast.events.filter((event) => event[1] === 'o').map((event) => event[2]).join('');
}

function parseLine(line: string, n: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new Error(`line ${n}: not JSON`);
  }
}

function isSize(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

/** Microseconds: what the recording keeps. */
function round(seconds: number): number {
  return Math.round(seconds * 1_000_000) / 1_000_000;
}



