// A recorded session read back as psql would have shown it: `sluice replay`, the engine API's
// `sessions.transcript` and the desktop app's player all render through here, so this file uses
// no Node API. Recorded payloads come from older versions and other protocols too: every field
// is read defensively and nothing here throws on what it does not know. Everything printed
// passes through `printable`, so a replayed statement cannot drive the auditor's terminal.

import { httpRequestFrames, httpResponseLines, websocketLine } from './http-transcript.js';
import { printable } from './printable.js';
import { commandPromptLine, terminalFrame } from './terminal-transcript.js';
import { type Payload, num, record, str } from './payload-fields.js';

export type TranscriptFrameKind = 'prompt' | 'statement' | 'decision' | 'approval' | 'result' | 'error' | 'notice' | 'end';

/** One step of the replay: what appears on screen at once. */
export interface TranscriptFrame {
  /** Microseconds since the epoch: when it happened (a statement's prompt: when it started). */
  readonly time: number;
  /** The seq of the event it comes from. */
  readonly seq: number;
  /** `prompt` is the session's opening banner; `statement` is the prompt with the statement typed. */
  readonly kind: TranscriptFrameKind;
  /**
   * Lines to print, each ending with \n; a terminal session's output (a `result` frame) is the
   * text as the terminal got it, escaped, and may end mid-line.
   */
  readonly text: string;
}

/** What the transcript reads of a session (a SessionRecord fits). */
export interface TranscriptSession {
  readonly id: string;
  readonly resource?: string;
}

/** What the transcript reads of an event (an EventRecord fits). */
export interface TranscriptEvent {
  readonly seq: number;
  readonly time: number;
  readonly kind: string;
  readonly payload: unknown;
}


/** Longest rendering of a payload the transcript has no reading for. */
const MAX_UNKNOWN_CHARS = 200;

export function transcriptFrames(session: TranscriptSession, events: readonly TranscriptEvent[]): TranscriptFrame[] {
  const frames: TranscriptFrame[] = [];
  let database = str(session.resource) ?? 'sluice';
  // A denied or held statement is on screen from its decision on; its `query` event only adds the result.
  const answers = pairDecisions(events);
  const answered = new Set([...answers.values()].map((event) => event.seq));
  // Approvals a decision names: their `requested` event would only repeat it.
  const announced = new Set(events.filter((event) => event.kind === 'decision').map((event) => str(record(event.payload).approval)));
  let statements = 0;
  let errors = 0;
  // A terminal session's command, once a decision or its start has shown it.
  let commandShown = false;

  const pushText = (time: number, seq: number, kind: TranscriptFrameKind, text: string) => {
    if (text === '') return;
    // Never before the frame already shown: a statement's start is estimated from its duration.
    const at = Math.max(time, frames.at(-1)?.time ?? time);
    // Terminal output may stop mid-line: what follows starts on a line of its own.
    const open = frames.length > 0 && !frames.at(-1)!.text.endsWith('\n');
    frames.push({ time: at, seq, kind, text: open && kind !== 'result' ? `\n${text}` : text });
  };
  const push = (time: number, seq: number, kind: TranscriptFrameKind, lines: readonly string[]) => {
    if (lines.length > 0) pushText(time, seq, kind, lines.map((line) => `${line}\n`).join(''));
  };

  for (const event of events) {
    const p = record(event.payload);
    const time = num(event.time) ?? frames.at(-1)?.time ?? 0;
    const seq = num(event.seq) ?? 0;
    if (p.channel === 'terminal') {
      const frame = terminalFrame(event.kind, p, commandShown);
      if (event.kind === 'notice' && p.action === 'start') commandShown = true;
      if (frame) pushText(time, seq, frame.kind, frame.text);
      continue;
    }
    switch (event.kind) {
      case 'connect':
        database = str(p.resource) ?? database;
        push(time, seq, 'prompt', [banner(session.id, database, p)]);
        break;
      case 'decision':
        // An HTTP request is already on screen from its http_request event; a command is shown after a `$ ` prompt.
        if (p.protocol === 'exec') {
          push(time, seq, 'statement', [commandPromptLine(p.command)]);
          commandShown = true;
        } else if (p.protocol !== 'http') push(time, seq, 'statement', statementLines(database, str(p.text), record(answers.get(event)?.payload).params));
        push(time, seq, 'decision', [decisionLine(p)]);
        break;
      case 'http_request': {
        statements++;
        const exchange = httpRequestFrames(database, p, time);
        if (exchange.failed) errors++;
        for (const frame of exchange.frames) push(frame.time, seq, frame.kind, frame.lines);
        break;
      }
      case 'http_response': {
        const answer = httpResponseLines(p);
        if (answer.failed) errors++;
        push(time, seq, answer.failed ? 'error' : 'result', answer.lines);
        break;
      }
      case 'input':
      case 'output':
        if (p.channel === 'websocket') {
          push(time, seq, 'result', [websocketLine(event.kind, p)]);
          break;
        }
        push(time, seq, 'notice', [`-- ${printable(String(event.kind))}: ${cut(printable(JSON.stringify(event.payload) ?? ''))}`]);
        break;
      case 'approval': {
        const action = str(p.action);
        if ((action === 'requested' && announced.has(str(p.id))) || action === 'vote' || action === 'executed') break;
        push(time, seq, 'approval', [approvalLine(action, p)]);
        break;
      }
      case 'query': {
        statements++;
        const duration = num(p.duration_ms);
        if (!answered.has(event.seq)) push(time - (duration ?? 0) * 1000, seq, 'statement', statementLines(database, str(p.text), p.params));
        const failed = p.outcome === 'error' || p.error !== undefined;
        if (failed) errors++;
        push(time, seq, failed ? 'error' : 'result', resultLines(p, duration));
        break;
      }
      case 'error':
        errors++;
        push(time, seq, 'error', errorLines(record(p), str(p.source)));
        break;
      case 'notice':
        push(time, seq, 'notice', [`${printable(str(p.severity) ?? 'NOTICE')}:  ${printable(str(p.message) ?? '')}`]);
        break;
      case 'limit':
        push(time, seq, 'decision', [limitLine(p)]);
        break;
      // MCP sessions (proxy/mcp/mcp-record.ts): each tool call and its outcome.
      case 'tool_call':
        statements++;
        push(time, seq, 'statement', [toolCallLine(p)]);
        break;
      case 'tool_result': {
        const failed = p.outcome === 'error';
        if (failed) errors++;
        push(time, seq, failed ? 'error' : 'result', [toolResultLine(p)]);
        break;
      }
      case 'disconnect': {
        const counters = record(p.counters);
        const status = str(p.status) ?? 'closed';
        push(time, seq, 'end', [`-- session ${printable(status)}: ${plural(num(counters.statements) ?? statements, 'statement')}, ${plural(num(counters.errors) ?? errors, 'error')}`]);
        break;
      }
      default:
        push(time, seq, 'notice', [`-- ${printable(String(event.kind))}: ${cut(printable(JSON.stringify(event.payload) ?? ''))}`]);
    }
  }
  return frames;
}

/** `mcp> #3 query {"resource":"testdb","sql":"SELECT 1"}`: arguments as recorded (masked). */
function toolCallLine(p: Payload): string {
  return `mcp> #${num(p.call) ?? '?'} ${printable(str(p.tool) ?? '?')} ${cut(printable(JSON.stringify(p.arguments ?? {}) ?? ''))}`;
}

function toolResultLine(p: Payload): string {
  const head = `-- #${num(p.call) ?? '?'} ${printable(str(p.tool) ?? '?')}`;
  const approval = str(p.approval);
  switch (p.outcome) {
    case 'pending_approval':
      return `${head}: pending approval ${printable(approval ?? '?')}`;
    case 'error':
      return `${head} failed: ${printable(str(p.error) ?? 'error')}`;
    default: {
      const rows = num(p.row_count);
      const status = num(p.status);
      const detail = [rows !== undefined ? plural(rows, 'row') : undefined, status !== undefined ? `HTTP ${status}` : undefined, p.truncated === true ? 'truncated' : undefined, approval ? `after approval ${printable(approval)}` : undefined].filter(Boolean);
      return `${head}: ok${detail.length > 0 ? ` (${detail.join(', ')})` : ''}`;
    }
  }
}

function banner(id: string, database: string, p: Payload): string {
  const identity = record(p.identity);
  const groups = Array.isArray(identity.groups) ? identity.groups.filter((group) => typeof group === 'string') : [];
  const who = `${str(identity.subject) ?? 'unknown subject'}${groups.length > 0 ? ` (${groups.join(', ')})` : ''}`;
  const parts = [`session ${id}`, `resource ${database}`, who];
  const from = str(p.client_address);
  if (from) parts.push(`from ${from}`);
  const application = str(p.application);
  if (application) parts.push(application);
  return `-- ${printable(parts.join(' · '))}`;
}

/**
 * Pairs each decision that refused or held a statement with the `query` event reporting that
 * statement, in order (the extended protocol may pipeline several before the first is answered).
 */
function pairDecisions(events: readonly TranscriptEvent[]): Map<TranscriptEvent, TranscriptEvent> {
  const pairs = new Map<TranscriptEvent, TranscriptEvent>();
  const waiting: TranscriptEvent[] = [];
  for (const event of events) {
    if (event.kind === 'decision') waiting.push(event);
    if (event.kind !== 'query') continue;
    const effect = str(record(record(event.payload).decision).effect);
    const decision = effect === 'deny' || effect === 'approve' ? waiting.shift() : undefined;
    if (decision) pairs.set(decision, event);
  }
  return pairs;
}

/** `testdb=> ` and the statement (further lines after psql's continuation prompt), then its parameters. */
function statementLines(database: string, text: string | undefined, params: unknown): string[] {
  const prompt = printable(database);
  const lines = text?.trim()
    ? text
        .replace(/\r\n/g, '\n')
        .replace(/\n+$/, '')
        .split('\n')
        .map((line, index) => `${prompt}${index === 0 ? '=>' : '->'} ${printable(line, '\t')}`.trimEnd())
    : [`${prompt}=> -- (statement text not recorded)`];
  const values = Array.isArray(params) ? params.map((value, index) => `$${index + 1} = ${value === null ? 'NULL' : `'${printable(String(value))}'`}`) : [];
  return values.length > 0 ? [...lines, `-- params: ${values.join(', ')}`] : lines;
}

function decisionLine(p: Payload): string {
  const rule = printable(str(p.rule) ?? '?');
  const reason = str(p.reason);
  const approval = str(p.approval);
  switch (str(p.effect)) {
    case 'deny':
      return `-- denied by rule ${rule}${reason ? `: ${printable(reason)}` : ''}`;
    case 'approve':
      if (approval && p.granted_until !== undefined) return `-- allowed by rule ${rule} under the session grant of approval ${printable(approval)}`;
      return approval ? `-- waiting for approval ${printable(approval)} (rule ${rule})` : `-- rule ${rule} needs approval`;
    default:
      return `-- ${printable(str(p.effect) ?? 'decided')} by rule ${rule}`;
  }
}

/** A bulk-export limit the session hit (result-limiter.ts, statement-gate.ts): which, set where, and what the gateway did. */
function limitLine(p: Payload): string {
  const what = `limit ${printable(str(p.limit) ?? '?')} = ${num(p.value) ?? '?'} (${printable(str(p.rule) ?? '?')})`;
  const rows = num(p.rows);
  const after = rows === undefined ? '' : ` after ${plural(rows, 'row')}`;
  switch (str(p.action)) {
    case 'stopped':
      return `-- ${what}: result stopped${after}`;
    case 'held':
      return `-- ${what}: result held for approval${after}`;
    case 'approved':
      return `-- ${what}: approved, the result goes on`;
    case 'denied':
      return `-- ${what}: approval refused, result stopped${after}`;
    case 'refused':
      return `-- ${what}: statement refused`;
    case 'discarded':
      return `-- ${what}: the rest of the message ran upstream but its results were dropped`;
    default:
      return `-- ${what}: ${printable(str(p.action) ?? 'hit')}`;
  }
}

function approvalLine(action: string | undefined, p: Payload): string {
  const id = printable(str(p.id) ?? '?');
  const by = Array.isArray(p.by) ? p.by.map(String).join(', ') : undefined;
  const reason = str(p.reason);
  switch (action) {
    case 'requested':
      return `-- waiting for approval ${id}${str(p.rule) ? ` (rule ${printable(str(p.rule)!)})` : ''}`;
    case 'approved':
      // Its reason already names each approver ("alice: ticket 42; bob: ok").
      return `-- approved by ${printable(by ?? 'an approver')}${p.granted_until !== undefined ? ' for the session' : ''}${reason ? ` (${printable(reason)})` : ''}`;
    case 'denied':
      return `-- approval denied by ${printable(by ?? 'an approver')}${reason ? `: ${printable(reason)}` : ''}`;
    case 'expired':
      return `-- approval ${id} expired${reason ? `: ${printable(reason)}` : ''}`;
    case 'cancelled':
      return `-- approval ${id} cancelled${str(p.cause) ? `: ${printable(str(p.cause)!)}` : ''}`;
    default:
      return `-- approval ${id}: ${printable(action ?? 'unknown action')}`;
  }
}

/** What psql prints after a statement: its results or error, masked counts, then `Time:`. */
function resultLines(p: Payload, duration: number | undefined): string[] {
  const lines: string[] = [];
  const tags = Array.isArray(p.tags) ? p.tags.filter((tag) => typeof tag === 'string') : [];
  const sample = sampleOf(p.sample);
  let sampleShown = false;
  for (const tag of tags) {
    const count = /^(SELECT|FETCH) (\d+)$/.exec(tag);
    if (!count) {
      lines.push(printable(tag));
      continue;
    }
    // One result's rows are sampled: the first result set's.
    const rows = tags.length === 1 ? (num(p.rows) ?? Number(count[2])) : Number(count[2]);
    if (sample && !sampleShown) {
      sampleShown = true;
      lines.push(...table(sample.columns, sample.rows), `(${plural(rows, 'row')})`);
      if (sample.truncated || sample.rows.length < rows) lines.push(`(showing first ${plural(sample.rows.length, 'row')} as recorded)`);
    } else {
      lines.push(`(${plural(rows, 'row')})`, '-- rows not recorded');
    }
  }
  const masked = Object.entries(record(p.masked)).filter(([, count]) => typeof count === 'number');
  if (masked.length > 0) lines.push(`-- masked: ${masked.map(([rule, count]) => `${printable(rule)} ${String(count)}`).join(', ')}`);
  if (p.error !== undefined || p.outcome === 'error') lines.push(...errorLines(record(p.error)));
  if (p.outcome === 'aborted') lines.push('-- no answer: the session ended before the server answered');
  if (duration !== undefined) lines.push(`Time: ${duration.toFixed(3)} ms`);
  return lines;
}

function errorLines(error: Payload, source?: string): string[] {
  const code = str(error.code);
  const note = [code ? `SQLSTATE ${code}` : undefined, source ? `from the ${source}` : undefined].filter(Boolean).join(', ');
  return [`ERROR:  ${printable(str(error.message) ?? 'unknown error')}`, ...(note ? [`-- ${printable(note)}`] : [])];
}

/** A psql aligned table: centred headers, numbers to the right, NULL as nothing. */
function table(columns: readonly string[], rows: readonly (readonly (string | null)[])[]): string[] {
  if (columns.length === 0) return ['--'];
  const cells = rows.map((row) => columns.map((_, column) => (row[column] == null ? '' : printable(String(row[column]), ''))));
  const header = columns.map((name) => printable(name, ''));
  const widths = header.map((name, column) => Math.max(width(name), ...cells.map((row) => width(row[column] ?? ''))));
  const numeric = widths.map((_, column) => cells.some((row) => row[column] !== '') && cells.every((row) => row[column] === '' || /^-?\d+(\.\d+)?$/.test(row[column] ?? '')));
  const line = (values: readonly string[], align: (value: string, column: number) => string) => ` ${values.map(align).join(' | ')} `.trimEnd();
  const pad = (value: string, column: number) => {
    const room = (widths[column] ?? 0) - width(value);
    return numeric[column] ? `${' '.repeat(room)}${value}` : `${value}${' '.repeat(room)}`;
  };
  const centre = (value: string, column: number) => {
    const room = (widths[column] ?? 0) - width(value);
    return `${' '.repeat(Math.floor(room / 2))}${value}${' '.repeat(room - Math.floor(room / 2))}`;
  };
  return [line(header, centre), widths.map((w) => '-'.repeat(w + 2)).join('+'), ...cells.map((row) => line(row, pad))];
}

function sampleOf(value: unknown): { columns: string[]; rows: (string | null)[][]; truncated: boolean } | undefined {
  const sample = record(value);
  if (!Array.isArray(sample.columns) || !Array.isArray(sample.rows)) return undefined;
  return {
    columns: sample.columns.map(String),
    rows: sample.rows.filter(Array.isArray).map((row: unknown[]) => row.map((cell) => (cell == null ? null : String(cell)))),
    truncated: sample.truncated === true,
  };
}


/** Characters on screen, counting code points (close enough: wide scripts are rare in samples). */
function width(text: string): number {
  return [...text].length;
}




function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function cut(text: string): string {
  return text.length <= MAX_UNKNOWN_CHARS ? text : `${text.slice(0, MAX_UNKNOWN_CHARS)}…`;
}
