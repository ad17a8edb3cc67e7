import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { WebSocket } from 'ws';
import type { ApiEventMessage, ApiMethodName, ApiResult } from '../../proxy/api/api-contract.js';
import { failed } from '../../proxy/api/api-result.js';
import type { GatewayState } from '../ipc/desktop-contract.js';
import { connectionFor, type ConnectTarget } from './pinned-connect.js';

// A remote headless gateway (`sluice serve`), spoken to exactly as the web console does: the
// engine API over HTTPS with the approver token as a bearer, events over one WebSocket opened
// with a single-use ticket (so the token never appears in a URL), reopened with backoff.

const API = '/api/v1/';
const TICKET_PATH = '/api/v1/events/ticket';
const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
const REQUEST_TIMEOUT_MS = 20_000;
const MAX_BACKOFF_MS = 30_000;

export interface RemoteGatewayOptions {
  readonly id: string;
  readonly label: string;
  /** The gateway's origin. */
  readonly url: string;
  readonly token: string;
  readonly fingerprint?: string;
}

export class RemoteGateway {
  readonly id: string;
  readonly label: string;
  readonly url: string;
  readonly #token: string;
  readonly #target: ConnectTarget;
  readonly #listeners = new Set<(message: ApiEventMessage) => void>();
  readonly #states = new Set<(state: GatewayState) => void>();
  #state: GatewayState = 'offline';
  #problem: string | undefined;
  #socket: WebSocket | undefined;
  #retry: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: RemoteGatewayOptions) {
    this.id = options.id;
    this.label = options.label;
    this.url = options.url;
    this.#token = options.token;
    const url = new URL(options.url);
    this.#target = {
      protocol: url.protocol === 'http:' ? 'http:' : 'https:',
      host: url.hostname,
      port: Number(url.port || (url.protocol === 'http:' ? 80 : 443)),
      ...(options.fingerprint !== undefined && { fingerprint: options.fingerprint }),
    };
  }

  get state(): GatewayState {
    return this.#state;
  }

  /** The last failure reaching the gateway, for the settings screen. */
  get problem(): string | undefined {
    return this.#problem;
  }

  async call(method: ApiMethodName, input: unknown): Promise<ApiResult<unknown>> {
    const answer = await this.#post(API + method, JSON.stringify(input ?? {}));
    if (answer.kind === 'unreachable') return failed('unavailable', `the gateway ${this.label} (${this.url}) cannot be reached: ${answer.message}`);
    return answer.result;
  }

  /** Events from this gateway; the socket is open while someone listens. */
  subscribe(listener: (message: ApiEventMessage) => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) void this.#open();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#shut();
    };
  }

  onState(listener: (state: GatewayState) => void): () => void {
    this.#states.add(listener);
    return () => void this.#states.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#shut();
  }

  #setState(state: GatewayState, problem?: string): void {
    if (problem !== undefined) this.#problem = problem;
    if (state === 'live') this.#problem = undefined;
    if (state === this.#state && problem === undefined) return;
    this.#state = state;
    for (const listener of this.#states) listener(state);
  }

  async #open(): Promise<void> {
    if (this.#closed || this.#socket || this.#listeners.size === 0) return;
    this.#setState('connecting');
    const answer = await this.#post(TICKET_PATH, '');
    if (this.#closed || this.#listeners.size === 0) return;
    if (answer.kind === 'unreachable') return this.#later(answer.message);
    if (!answer.result.ok) return this.#later(answer.result.error.message);
    const ticket = answer.result.value as { ticket?: unknown; path?: unknown };
    if (typeof ticket.ticket !== 'string' || typeof ticket.path !== 'string') return this.#later('the gateway answered the ticket request without a ticket');
    const url = new URL(ticket.path, this.url);
    url.protocol = this.#target.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket.ticket);
    // `ws` passes createConnection on to node:https, which waits for our verified socket.
    const socket = new WebSocket(url, { createConnection: connectionFor(this.#target) as never, maxPayload: 16 * 1024 * 1024, perMessageDeflate: false });
    this.#socket = socket;
    socket.on('open', () => {
      this.#failures = 0;
      this.#setState('live');
    });
    socket.on('message', (data) => {
      let message: ApiEventMessage;
      try {
        message = JSON.parse(String(data)) as ApiEventMessage;
      } catch {
        return;
      }
      for (const listener of this.#listeners) listener(message);
    });
    socket.on('error', (error) => {
      this.#problem = error.message;
    });
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#later(this.#problem ?? 'the events connection closed');
    });
  }

  #later(problem: string): void {
    if (this.#closed || this.#listeners.size === 0) return this.#setState('offline', problem);
    this.#setState('connecting', problem);
    this.#failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.#failures, 6));
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#open(), delay);
    this.#retry.unref();
  }

  #shut(): void {
    clearTimeout(this.#retry);
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close();
    this.#setState('offline');
  }

  #post(path: string, body: string): Promise<{ kind: 'answered'; result: ApiResult<unknown> } | { kind: 'unreachable'; message: string }> {
    const request = this.#target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise((resolve) => {
      const req = request(
        {
          method: 'POST',
          host: this.#target.host,
          port: this.#target.port,
          path,
          // No agent: node:http then opens each request's socket with createConnection (an
          // `agent: false` would build a fresh Agent and its own, unchecked, connect).
          createConnection: connectionFor(this.#target) as never,
          timeout: REQUEST_TIMEOUT_MS,
          headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        },
        (response) => void readResult(response, this.url).then((result) => resolve({ kind: 'answered', result })),
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)));
      req.on('error', (error) => resolve({ kind: 'unreachable', message: error.message }));
      req.end(body);
    });
  }
}

async function readResult(response: IncomingMessage, origin: string): Promise<ApiResult<unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response) {
      size += (chunk as Buffer).length;
      if (size > MAX_RESPONSE_BYTES) {
        response.destroy();
        return failed('internal', `the gateway's answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
  } catch (error) {
    return failed('unavailable', `the gateway's answer was cut off: ${(error as Error).message}`);
  }
  try {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (body && typeof body === 'object' && 'ok' in body) return body as ApiResult<unknown>;
  } catch {
    // Not JSON: answered below.
  }
  return failed('internal', `the gateway answered ${response.statusCode ?? '?'} without an engine API result; is ${origin} a Sluice api listener?`);
}
