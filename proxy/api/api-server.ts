import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { EngineEvents } from '../engine/engine-events.js';
import type { Logger } from '../engine/logger.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { ApiServices } from './api-contract.js';
import { createApiRequestHandler, EVENTS_PATH } from './api-http.js';
import type { ApiError } from './api-result.js';
import type { RolesConfig } from './api-roles.js';
import { EventHub } from './event-hub.js';
import { TicketBook } from './event-tickets.js';
import { listen } from '../net/listen.js';

export interface ApiListenerOptions {
  readonly host: string;
  readonly port: number;
  /**
   * PEM certificate and key, or undefined for plain HTTP. (Not a SecureContext: https.Server
   * builds its own from these and has no option to take a ready one for clients without SNI.)
   */
  readonly tls: { readonly cert: string; readonly key: string } | undefined;
  readonly authenticator: Authenticator;
  readonly roles: RolesConfig;
  readonly services: ApiServices;
  readonly events: EngineEvents;
  readonly log: Logger;
  /** Event subscribers at once (default 1,000); more are refused with 503. */
  readonly maxSubscribers?: number;
  /** See EventHubOptions. */
  readonly maxBufferedBytes?: number;
  /** The built web console to serve outside /api/ (none: those paths are 404s). */
  readonly consoleDir?: string;
  /** Other WebSocket endpoints by path (e.g. /api/v1/exec for `sluice exec`): each answers its own upgrades and closes with the listener. */
  readonly sockets?: Readonly<Record<string, { upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void; close(): Promise<void> }>>;
  /** The MCP gateway's Streamable HTTP endpoint (proxy/mcp/mcp-http.ts): answers every request to `path`, closes with the listener. */
  readonly mcp?: { readonly path: string; handle(request: IncomingMessage, response: ServerResponse): void; close(): Promise<void> };
}

export interface ApiListener {
  /** e.g. https://127.0.0.1:7070 (the bound host and port). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** Open event subscriptions. */
  readonly subscribers: number;
  close(): Promise<void>;
}

/** Serves the engine API: HTTP(S) for methods, a WebSocket at /api/v1/events for events. */
export async function startApiListener(options: ApiListenerOptions): Promise<ApiListener> {
  const { log } = options;
  const tickets = new TicketBook();
  const hub = new EventHub({ events: options.events, roles: options.roles, log, ...(options.maxBufferedBytes !== undefined && { maxBufferedBytes: options.maxBufferedBytes }) });
  const handler = createApiRequestHandler({
    authenticator: options.authenticator,
    dispatch: { roles: options.roles, services: options.services, log },
    tickets,
    hub,
    log,
    ...(options.consoleDir !== undefined && { consoleDir: options.consoleDir }),
  });
  const mcp = options.mcp;
  const route = mcp
    ? (request: IncomingMessage, response: ServerResponse) => {
        const path = (request.url ?? '/').split('?', 1)[0];
        return path === mcp.path ? mcp.handle(request, response) : handler(request, response);
      }
    : handler;
  const server: Server = options.tls ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, route) : createHttpServer(route);
  // Slow or idle clients cannot hold sockets open for long.
  server.headersTimeout = 15_000;
  server.requestTimeout = 30_000;
  server.keepAliveTimeout = 5_000;

  // Subscribers only listen, so what they may send is tiny; no compression (memory, and no
  // compression oracle over event payloads).
  const sockets = new WebSocketServer({ noServer: true, maxPayload: 4 * 1024, perMessageDeflate: false });
  const maxSubscribers = options.maxSubscribers ?? 1_000;
  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://api.invalid');
    const endpoint = Object.hasOwn(options.sockets ?? {}, url.pathname) ? options.sockets![url.pathname] : undefined;
    if (endpoint) return endpoint.upgrade(request, socket, head);
    if (url.pathname !== EVENTS_PATH) return refuseUpgrade(socket, 404, { code: 'not_found', message: `no WebSocket at ${JSON.stringify(url.pathname.slice(0, 200))}; events are at ${EVENTS_PATH}` });
    const identity = tickets.redeem(url.searchParams.get('ticket') ?? '');
    if (!identity) {
      log.warn('api events ticket refused', { client: socket.remoteAddress ?? 'unknown' });
      return refuseUpgrade(socket, 401, { code: 'unauthenticated', message: `no valid ticket: get one with POST ${EVENTS_PATH}/ticket (tickets are single use and expire after 30 s)` });
    }
    if (hub.size >= maxSubscribers) return refuseUpgrade(socket, 503, { code: 'internal', message: 'too many event subscribers; try again later' });
    sockets.handleUpgrade(request, socket, head, (ws) => hub.add(ws, identity));
  });

  const { port } = await listen(server, options.port, options.host);
  const hostInUrl = options.host.includes(':') ? `[${options.host}]` : options.host;

  let closing: Promise<void> | undefined;
  return {
    url: `${options.tls ? 'https' : 'http'}://${hostInUrl}:${port}`,
    host: options.host,
    port,
    get subscribers() {
      return hub.size;
    },
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await Promise.all([hub.closeAll(), ...Object.values(options.sockets ?? {}).map((endpoint) => endpoint.close()), options.mcp?.close()]);
        sockets.close();
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

/** Answers a WebSocket upgrade with a plain HTTP error (a browser sees a failed connection; other clients the status). */
function refuseUpgrade(socket: Socket, status: 401 | 404 | 503, error: ApiError): void {
  const body = JSON.stringify({ ok: false, error });
  const reason = { 401: 'Unauthorized', 404: 'Not Found', 503: 'Service Unavailable' }[status];
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${status === 401 ? 'www-authenticate: Bearer realm="sluice"\r\n' : ''}\r\n${body}`,
  );
}
