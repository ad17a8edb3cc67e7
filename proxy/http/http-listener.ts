import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { refusal, writeRawRefusal } from './gateway-errors.js';
import type { HttpGatewayContext, ListenerSide } from './http-context.js';
import { connectionOf, type ClientConnection } from './http-sessions.js';
import { handleRequest } from './request-handler.js';
import { handleUpgrade } from './websocket-upgrade.js';
import { listen } from '../net/listen.js';

// One HTTP(S) listener: node's HTTP/1.1 parser (llhttp, strict mode: it already refuses
// Content-Length with Transfer-Encoding, duplicate Content-Length, obs-fold, bad chunk sizes,
// bare LF, and oversized headers), with the gateway's own checks on top (caller-admission.ts).

/** Request line and headers together; past it the parser answers 431. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** A client must send its headers within this (slow-loris). */
const HEADERS_TIMEOUT_MS = 30_000;
/** ... and its whole request (headers and body) within this. A held request's timer has stopped by then: its body is read. */
const REQUEST_TIMEOUT_MS = 300_000;
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Client connections one listener keeps open at once; node closes any beyond (each holds memory and a session). */
export const MAX_CONNECTIONS = 4_096;
/** How long shutdown waits for responses under way before it cuts their connections. */
const SHUTDOWN_GRACE_MS = 2_000;

export interface HttpListenerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer };
  readonly side: Omit<ListenerSide, 'secure'>;
  readonly ctx: HttpGatewayContext;
}

export interface HttpListener {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** The resource it serves at its root; undefined for the shared listener (/r/NAME/). */
  readonly resource: string | undefined;
  /** Client connections open now. */
  readonly connections: number;
  /** Stops accepting, lets responses under way finish (briefly), then closes every connection. */
  close(): Promise<void>;
}

export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const { ctx } = options;
  const side: ListenerSide = { ...options.side, secure: options.tls !== undefined };
  const sockets = new Set<Socket>();
  const connections = new Set<ClientConnection>();
  const connection = (socket: Socket) =>
    connectionOf(socket, (closed) => {
      connections.delete(closed);
      // Requests still waiting for approvers are cancelled: nobody is left to answer.
      for (const id of closed.held) ctx.approvals.cancel(id, 'the client disconnected while its request waited for approval');
      closed.close('the client closed the connection');
    });
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const client = connection(req.socket);
    connections.add(client);
    void handleRequest(req, res, ctx, side, client);
  };
  const serverOptions = { maxHeaderSize: MAX_HEADER_BYTES, requireHostHeader: true, insecureHTTPParser: false };
  const server: Server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, onRequest)
    : createHttpServer(serverOptions, onRequest);
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;
  // With this listener node leaves `Expect: 100-continue` to the handler: the body is asked for only once policy allows it.
  server.on('checkContinue', onRequest);
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const code = error.code ?? 'unknown';
    ctx.log.warn('http request refused by the parser', { code, reason: (error as { reason?: string }).reason ?? error.message });
    // A response already under way on this connection (its head sent): raw bytes now would land
    // in its middle, so the connection just ends. Otherwise the 400 is the connection's last answer.
    const inFlight = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const status = code === 'HPE_HEADER_OVERFLOW' ? 431 : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const message =
      status === 431
        ? `the request line and headers are larger than ${MAX_HEADER_BYTES} bytes`
        : status === 408
          ? 'the request did not arrive in time'
          : `the request is not valid HTTP/1.1 and was refused (${(error as { reason?: string }).reason ?? code}); conflicting or duplicate Content-Length / Transfer-Encoding, folded headers and malformed chunks are never forwarded`;
    writeRawRefusal(socket, refusal(status, status === 400 ? 'bad_request' : status === 431 ? 'headers_too_large' : 'request_timeout', message));
  });
  // CONNECT would make the gateway a tunnel to anywhere.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    writeRawRefusal(socket, refusal(405, 'not_a_proxy', 'Sluice is not a forward proxy: CONNECT is refused; send requests to /r/RESOURCE/PATH'));
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const client = connection(req.socket);
    connections.add(client);
    void handleUpgrade(req, socket, head, ctx, side, client);
  });
  server.on('error', (error) => ctx.log.error('http listener error', { reason: error.message }));

  const address = await listen(server, options.port, options.host);
  return {
    host: options.host,
    port: address.port,
    secure: side.secure,
    resource: side.resource,
    get connections() {
      return sockets.size;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const force = setTimeout(() => sockets.forEach((socket) => socket.destroy()), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(force);
      for (const client of connections) client.close('the Sluice gateway is shutting down');
    },
  };
}
