import type { ApiEventMessage, ApiInput, ApiMethodName, ApiOutput, ApiResult } from '../../../proxy/api/api-contract.js';
import type { ConnectionState, EngineClient } from '../engine-client.js';

// The engine API over HTTP (POST /api/v1/<method>, bearer token) and its events over one
// WebSocket, opened with a single-use ticket so the token never appears in a URL. The socket is
// opened while someone listens and reopened with backoff when it drops.

const API = '/api/v1/';
const TICKET_PATH = '/api/v1/events/ticket';
const MAX_BACKOFF_MS = 15_000;

export interface HttpEngineClientOptions {
  /** The console's own origin by default. */
  readonly baseUrl?: string;
  readonly token: string;
  /** Called when the gateway refuses the token (expired, revoked): the console signs out. */
  readonly onUnauthenticated?: () => void;
}

export class HttpEngineClient implements EngineClient {
  readonly label: string;
  readonly #base: URL;
  readonly #token: string;
  readonly #onUnauthenticated: (() => void) | undefined;
  readonly #listeners = new Set<(message: ApiEventMessage) => void>();
  readonly #states = new Set<(state: ConnectionState) => void>();
  #state: ConnectionState = 'offline';
  #socket: WebSocket | undefined;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #closed = false;

  constructor(options: HttpEngineClientOptions) {
    this.#base = new URL(options.baseUrl ?? globalThis.location.origin);
    this.#token = options.token;
    this.#onUnauthenticated = options.onUnauthenticated;
    this.label = this.#base.host;
  }

  async call<N extends ApiMethodName>(method: N, input: ApiInput<N>): Promise<ApiResult<ApiOutput<N>>> {
    let response: Response;
    try {
      response = await fetch(new URL(API + method, this.#base), {
        method: 'POST',
        headers: { authorization: `Bearer ${this.#token}`, 'content-type': 'application/json' },
        body: JSON.stringify(input),
        cache: 'no-store',
      });
    } catch {
      return { ok: false, error: { code: 'unavailable', message: `the gateway at ${this.label} cannot be reached; check that sluice serve is running` } };
    }
    const body = (await response.json().catch(() => undefined)) as ApiResult<ApiOutput<N>> | undefined;
    if (response.status === 401) this.#onUnauthenticated?.();
    if (body && typeof body === 'object' && 'ok' in body) return body;
    return { ok: false, error: { code: 'internal', message: `the gateway answered ${response.status} without an API result` } };
  }

  subscribe(listener: (message: ApiEventMessage) => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#open();
    return () => {
      this.#listeners.delete(listener);
      if (this.#listeners.size === 0) this.#shut();
    };
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    this.#states.add(listener);
    listener(this.#state);
    return () => this.#states.delete(listener);
  }

  close(): void {
    this.#closed = true;
    this.#shut();
  }

  #setState(state: ConnectionState): void {
    if (state === this.#state) return;
    this.#state = state;
    for (const listener of this.#states) listener(state);
  }

  async #open(): Promise<void> {
    if (this.#closed || this.#socket || this.#listeners.size === 0) return;
    this.#setState('connecting');
    const ticket = await this.#ticket();
    if (!ticket || this.#closed || this.#listeners.size === 0) return this.#later();
    const url = new URL(ticket.path, this.#base);
    url.protocol = this.#base.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('ticket', ticket.ticket);
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.onopen = () => {
      this.#failures = 0;
      this.#setState('live');
    };
    socket.onmessage = (message) => {
      let parsed: ApiEventMessage;
      try {
        parsed = JSON.parse(String(message.data)) as ApiEventMessage;
      } catch {
        return;
      }
      for (const listener of this.#listeners) listener(parsed);
    };
    socket.onclose = () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      this.#later();
    };
  }

  async #ticket(): Promise<{ ticket: string; path: string } | undefined> {
    try {
      const response = await fetch(new URL(TICKET_PATH, this.#base), { method: 'POST', headers: { authorization: `Bearer ${this.#token}` }, cache: 'no-store' });
      if (response.status === 401) this.#onUnauthenticated?.();
      const body = (await response.json()) as ApiResult<{ ticket: string; path: string }>;
      return body.ok ? body.value : undefined;
    } catch {
      return undefined;
    }
  }

  #later(): void {
    if (this.#closed || this.#listeners.size === 0) return this.#setState('offline');
    this.#setState('connecting');
    this.#failures++;
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.#failures, 5));
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.#open(), delay);
  }

  #shut(): void {
    clearTimeout(this.#retry);
    const socket = this.#socket;
    this.#socket = undefined;
    socket?.close();
    this.#setState('offline');
  }
}
