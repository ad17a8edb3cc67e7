// HTTP sessions in the replay (transcript.ts): a request as `billing> POST /refunds`, its answer
// as `HTTP 201 (312 bytes)` with the recorded (masked) body sample, WebSocket messages as
// `-> text: ...` / `<- text: ...`. Payloads are read defensively, as everything in the replay is.

import { printable } from './printable.js';
import { type Payload, num, record, str } from './payload-fields.js';


const MAX_SAMPLE_LINES = 12;
const MAX_LINE = 160;

export interface HttpFrame {
  /** Microseconds since the epoch. */
  readonly time: number;
  readonly kind: 'statement' | 'result' | 'error';
  readonly lines: string[];
}

/**
 * An `http_request` event's frames: the request (when it started, if the event also holds its
 * `response`), then that response.
 */
export function httpRequestFrames(resource: string, p: Payload, time: number): { frames: HttpFrame[]; failed: boolean } {
  const response = record(p.response);
  const answered = Object.keys(response).length > 0;
  const duration = num(response.duration_ms);
  const frames: HttpFrame[] = [{ time: answered && duration !== undefined ? time - duration * 1000 : time, kind: 'statement', lines: httpRequestLines(resource, p) }];
  if (!answered) return { frames, failed: false };
  const answer = httpResponseLines(response);
  frames.push({ time, kind: answer.failed ? 'error' : 'result', lines: answer.lines });
  return { frames, failed: answer.failed };
}

/** The request line after the resource's prompt, then what the record says of its body. */
export function httpRequestLines(resource: string, p: Payload): string[] {
  const text = str(p.text) ?? `${str(p.method) ?? '?'} ${str(p.path) ?? '/'}`;
  const lines = [`${printable(resource)}> ${printable(text)}`];
  const body = record(p.body);
  const bytes = num(body.bytes);
  // A streamed body's sample is known only once it was sent: it is with the response.
  const streamedSample = record(record(p.response).request_body);
  if (body.streamed === true && str(streamedSample.sample) !== undefined) lines.push(`-- body streamed (${size(num(streamedSample.bytes) ?? 0)}):`, ...sampleLines(streamedSample));
  else if (body.streamed === true) lines.push(`-- body streamed${bytes !== undefined ? ` (${size(bytes)})` : ''}`);
  else if (bytes !== undefined && bytes > 0) lines.push(`-- body (${size(bytes)}):`, ...sampleLines(body));
  return lines;
}

/** The answer: status and who gave it (the upstream, or Sluice itself), the body sample, what was masked, the time. */
export function httpResponseLines(p: Payload): { failed: boolean; lines: string[] } {
  const status = num(p.status) ?? 0;
  const error = record(p.error);
  const lines: string[] = [];
  const websocket = record(p.websocket);
  if (status === 101 && Object.keys(websocket).length > 0) {
    lines.push(`-- WebSocket ended: ${num(websocket.messages_in) ?? 0} messages in, ${num(websocket.messages_out) ?? 0} out${str(websocket.ended) ? ` (${printable(str(websocket.ended)!)})` : ''}`);
    if ((num(websocket.unrecorded) ?? 0) > 0) lines.push(`-- ${num(websocket.unrecorded)} messages not recorded (only the first are)`);
  } else if (p.source === 'gateway') {
    lines.push(`HTTP ${status} from Sluice: ${printable(str(error.message) ?? str(error.code) ?? 'refused')}`);
  } else {
    const body = record(p.body);
    const bytes = num(body.bytes);
    lines.push(`HTTP ${status}${bytes !== undefined ? ` (${size(bytes)})` : ''}`);
    if (bytes !== undefined && bytes > 0) lines.push(...sampleLines(body));
    if (str(error.message)) lines.push(`ERROR:  ${printable(str(error.message)!)}`);
  }
  const masked = Object.entries(record(p.masked)).filter(([, count]) => typeof count === 'number');
  if (masked.length > 0) lines.push(`-- masked: ${masked.map(([rule, count]) => `${printable(rule)} ${String(count)}`).join(', ')}`);
  if (p.outcome === 'aborted') lines.push('-- the client went away before the response was complete');
  const duration = num(p.duration_ms);
  if (duration !== undefined) lines.push(`Time: ${duration.toFixed(3)} ms`);
  return { failed: p.source === 'gateway' || p.outcome === 'error' || status >= 500, lines };
}

/** A WebSocket message (`input`: from the client, `output`: to it). */
export function websocketLine(kind: 'input' | 'output', p: Payload): string {
  const arrow = kind === 'input' ? '->' : '<-';
  const sample = str(p.sample);
  const code = num(p.code);
  return `${arrow} ${printable(str(p.type) ?? 'message')}${code !== undefined ? ` ${code}` : ''} (${size(num(p.bytes) ?? 0)})${sample ? `: ${cut(printable(sample))}` : ''}`;
}

function sampleLines(body: Payload): string[] {
  const sample = str(body.sample);
  if (sample === undefined) return ['-- (no sample recorded)'];
  const lines = sample.replace(/\r\n/g, '\n').split('\n');
  const shown = lines.slice(0, MAX_SAMPLE_LINES).map((line) => `  ${cut(printable(line, '\t'))}`);
  if (lines.length > MAX_SAMPLE_LINES || body.truncated === true) shown.push('  … (sample as recorded)');
  return shown;
}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} byte${bytes === 1 ? '' : 's'}`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function cut(text: string): string {
  return text.length <= MAX_LINE ? text : `${text.slice(0, MAX_LINE)}…`;
}



