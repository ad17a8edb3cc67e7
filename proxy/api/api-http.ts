import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../engine/logger.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { Identity } from '../identity/identity.js';
import { authenticateCaller, bearerCredential } from './api-auth.js';
import { serveConsole } from './console-files.js';
import { invokeApi, type ApiDispatchOptions } from './api-dispatch.js';
import { failed, type ApiErrorCode, type ApiResult } from './api-result.js';
import type { EventHub } from './event-hub.js';
import type { TicketBook } from './event-tickets.js';

// The engine API over HTTP: `POST /api/v1/<method>` with a JSON body answers the method's
// ApiResult as JSON, with the HTTP status its error code stands for.

export const API_PREFIX = '/api/v1/';
export const EVENTS_PATH = '/api/v1/events';
export const TICKET_PATH = '/api/v1/events/ticket';
export const HEALTH_PATH = '/api/v1/health';
/** Request bodies larger than this are refused (413): API inputs are small. */
export const MAX_BODY_BYTES = 1024 * 1024;

export const HTTP_STATUS: Readonly<Record<ApiErrorCode, number>> = {
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unavailable: 503,
  internal: 500,
};

const METHOD_NAME = /^[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)+$/;

export interface ApiHttpOptions {
  readonly authenticator: Authenticator;
  readonly dispatch: ApiDispatchOptions;
  readonly tickets: TicketBook;
  readonly hub: EventHub;
  readonly log: Logger;
  /** The built web console, served at every path outside /api/. */
  readonly consoleDir?: string;
}

export function createApiRequestHandler(options: ApiHttpOptions): (request: IncomingMessage, response: ServerResponse) => void {
  return (request, response) => {
    handle(request, response, options).catch((error: unknown) => {
      options.log.error('api request failed', { reason: error instanceof Error ? error.message : String(error) });
      if (!response.headersSent) send(response, 500, failed('internal', 'the gateway failed to answer; its log has the detail'), { close: true });
      else response.destroy();
    });
  };
}

async function handle(request: IncomingMessage, response: ServerResponse, options: ApiHttpOptions): Promise<void> {
  const path = (request.url ?? '/').split('?', 1)[0]!;
  const verb = request.method ?? 'GET';

  if (path === HEALTH_PATH) {
    if (verb !== 'GET' && verb !== 'HEAD') return refuseVerb(response, 'GET');
    return send(response, 200, { ok: true, value: { status: 'ok' } });
  }
  if (path === EVENTS_PATH) {
    return send(response, 426, failed('invalid_input', `${EVENTS_PATH} is a WebSocket: get a ticket with POST ${TICKET_PATH}, then connect to ${EVENTS_PATH}?ticket=TICKET`), {
      close: true,
      headers: { upgrade: 'websocket' },
    });
  }
  if (options.consoleDir !== undefined && !path.startsWith('/api/')) {
    if (verb !== 'GET' && verb !== 'HEAD') return refuseVerb(response, 'GET');
    return serveConsole(request, response, options.consoleDir, path);
  }
  const name = path.startsWith(API_PREFIX) ? path.slice(API_PREFIX.length) : undefined;
  if (path !== TICKET_PATH && (name === undefined || !METHOD_NAME.test(name))) {
    return send(response, 404, failed('not_found', `nothing at ${JSON.stringify(path.slice(0, 200))}: the engine API takes POST ${API_PREFIX}<method>`), { close: true });
  }
  if (verb !== 'POST') return refuseVerb(response, 'POST');

  const client = request.socket.remoteAddress ?? 'unknown';
  const auth = await authenticateCaller(options.authenticator, bearerCredential(request.headers.authorization), client, options.log);
  if (!auth.ok) return send(response, HTTP_STATUS[auth.error.code], auth, { close: true, headers: challenge(auth, request) });

  if (path === TICKET_PATH) return issueTicket(response, auth.value, options);

  const body = await readJsonBody(request);
  if (!body.ok) return send(response, body.status, failed('invalid_input', body.message), { close: body.status === 413 });
  const result = await invokeApi(name!, body.value, auth.value, options.dispatch, `${client}:${request.socket.remotePort ?? 0}`);
  send(response, result.ok ? 200 : HTTP_STATUS[result.error.code], result);
}

function issueTicket(response: ServerResponse, identity: Identity, options: ApiHttpOptions): void {
  const events = options.hub.eventsFor(identity);
  if (events.length === 0) {
    options.log.info('api events ticket refused', { subject: identity.subject });
    return send(response, 403, failed('forbidden', 'you hold no role that receives events (approvers or auditors); ask an admin to add one of your groups to roles'));
  }
  const issued = options.tickets.issue(identity);
  options.log.info('api events ticket issued', { subject: identity.subject });
  send(response, 200, { ok: true, value: { ticket: issued.ticket, expiresAt: issued.expiresAt, path: EVENTS_PATH, events } });
}

/** RFC 6750: a refused (rather than missing) token is `invalid_token`. */
function challenge(auth: ApiResult<Identity>, request: IncomingMessage): Record<string, string> {
  if (auth.ok || auth.error.code !== 'unauthenticated') return {};
  return { 'www-authenticate': request.headers.authorization ? 'Bearer realm="sluice", error="invalid_token"' : 'Bearer realm="sluice"' };
}

function refuseVerb(response: ServerResponse, allowed: string): void {
  send(response, 405, failed('invalid_input', `use ${allowed}`), { close: true, headers: { allow: allowed } });
}

type BodyResult = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string };

async function readJsonBody(request: IncomingMessage): Promise<BodyResult> {
  const tooLarge: BodyResult = { ok: false, status: 413, message: `the request body is larger than ${MAX_BODY_BYTES} bytes` };
  if (Number(request.headers['content-length'] ?? 0) > MAX_BODY_BYTES) return tooLarge;
  const raw = await new Promise<Buffer | undefined>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) return void chunks.push(chunk);
      // Stop collecting (not destroying: the 413 must still go out); the rest is discarded.
      request.off('data', onData);
      request.resume();
      resolve(undefined);
    };
    request.on('data', onData);
    request.once('end', () => resolve(Buffer.concat(chunks)));
    request.once('error', reject);
  });
  if (raw === undefined) return tooLarge;
  const text = raw.toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    // The parser's message quotes the body; the caller has it already.
    return { ok: false, status: 400, message: 'the request body is not valid JSON' };
  }
}

function send(response: ServerResponse, status: number, body: unknown, extra: { close?: boolean; headers?: Record<string, string> } = {}): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...(extra.close ? { connection: 'close' } : {}),
    ...extra.headers,
  });
  response.end(payload);
}
