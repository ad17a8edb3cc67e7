import type { ServerResponse } from 'node:http';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

// What the gateway answers itself: a status and a JSON body `{ "error": { code, message } }`
// (the engine API's shape), with a `Sluice-Error` header naming the code so a caller can tell
// the gateway's refusal from the upstream's own error. Messages say what happened and what to do;
// they never name an upstream host or carry a credential.

export interface Refusal {
  readonly status: number;
  /** Stable, for programs: `unauthenticated`, `denied`, `approval_denied`, `upstream_unreachable`, ... */
  readonly code: string;
  readonly message: string;
  /** The policy trace or other context, on its own line. */
  readonly detail?: string;
  readonly approval?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** End the connection after answering (a framing error: what follows on it cannot be trusted). */
  readonly close?: boolean;
}

export function refusal(status: number, code: string, message: string, extra: Omit<Refusal, 'status' | 'code' | 'message'> = {}): Refusal {
  return { status, code, message, ...extra };
}

function body(r: Refusal): Buffer {
  return Buffer.from(
    `${JSON.stringify({ error: { code: r.code, message: r.message, ...(r.detail !== undefined ? { detail: r.detail } : {}), ...(r.approval !== undefined ? { approval: r.approval } : {}) } })}\n`,
    'utf8',
  );
}

function headersOf(r: Refusal, length: number): Record<string, string> {
  return {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(length),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Sluice-Error': r.code,
    ...(r.approval !== undefined ? { 'Sluice-Approval': r.approval } : {}),
    ...(r.close ? { Connection: 'close' } : {}),
    ...r.headers,
  };
}

/** Answers with the refusal; a response already under way is cut instead (its client sees an incomplete body). */
export function sendRefusal(res: ServerResponse, r: Refusal, head = false): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const bytes = body(r);
  res.writeHead(r.status, headersOf(r, bytes.length));
  res.end(head ? undefined : bytes);
}

/** The refusal written straight to a socket (an upgrade request, a request the parser refused), then the socket ends. */
export function writeRawRefusal(socket: Duplex, r: Refusal): void {
  if (socket.destroyed || !socket.writable) return;
  const bytes = body(r);
  const headers = headersOf({ ...r, close: true }, bytes.length);
  const head = `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? 'Error'}\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
  socket.end(Buffer.concat([Buffer.from(head, 'latin1'), bytes]));
}
