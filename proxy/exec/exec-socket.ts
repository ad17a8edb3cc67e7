import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { authenticateCaller, bearerCredential } from '../api/api-auth.js';
import type { Logger } from '../engine/logger.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { ExecGateway } from './exec-session.js';
import { MAX_CLIENT_FRAME, parseClientMessage } from './exec-protocol.js';

// `sluice exec` on the api listener: a WebSocket at /api/v1/exec (exec-protocol.ts). The
// client presents its credential as `Authorization: Bearer …` on the upgrade request, checked
// as every API call is. The events socket uses single-use tickets instead because browsers
// cannot set that header; the exec client is the CLI, which can, and a header keeps the
// credential out of URLs and access logs just the same.

export interface SocketEndpoint {
  /** Takes an upgrade request for its path; answers it (101, or an HTTP error) itself. */
  upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void;
  /** Ends every connection it holds. */
  close(): Promise<void>;
}

export interface ExecSocketOptions {
  readonly gateway: ExecGateway;
  readonly authenticator: Authenticator;
  readonly log: Logger;
  /** Exec sessions at once (default 100); more are refused with 503. */
  readonly maxSessions?: number;
}

export function execSocketEndpoint(options: ExecSocketOptions): SocketEndpoint {
  const { gateway, log } = options;
  const maxSessions = options.maxSessions ?? 100;
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_FRAME, perMessageDeflate: false });
  return {
    upgrade(request, socket, head) {
      socket.on('error', () => socket.destroy());
      const client = socket.remoteAddress ?? 'unknown';
      void authenticateCaller(options.authenticator, bearerCredential(request.headers.authorization), client, log).then(
        (auth) => {
          if (!auth.ok) return refuse(socket, 401, auth.error.message);
          if (gateway.size >= maxSessions) return refuse(socket, 503, `the gateway runs ${maxSessions} exec sessions already; try again later`);
          server.handleUpgrade(request, socket, head, (ws) => attach(ws, gateway.open(auth.value, client, channelOf(ws)), log));
        },
        () => refuse(socket, 500, 'the gateway could not check the credential'),
      );
    },
    async close() {
      await gateway.close();
      for (const ws of server.clients) ws.terminate();
      server.close();
    },
  };
}

function channelOf(ws: WebSocket) {
  return {
    send(message: object) {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    },
    get buffered() {
      return ws.bufferedAmount;
    },
    close(code: number, reason: string) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(code, reason);
    },
  };
}

function attach(ws: WebSocket, session: ReturnType<ExecGateway['open']>, log: Logger): void {
  ws.on('message', (data, isBinary) => {
    if (isBinary) return session.refuse('messages are JSON text frames');
    const parsed = parseClientMessage(Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8'));
    if (parsed.ok) session.receive(parsed.message);
    else session.refuse(`not a message sluice exec understands: ${parsed.message}`);
  });
  // A frame over maxPayload, or a broken connection: the session ends as if the client left.
  ws.on('error', (error) => log.warn('exec socket error', { reason: error.message }));
  ws.on('close', () => session.gone());
}

/** Answers an upgrade with a plain HTTP error and the ApiResult-shaped body. */
function refuse(socket: Socket, status: 401 | 500 | 503, message: string): void {
  const code = status === 401 ? 'unauthenticated' : status === 503 ? 'unavailable' : 'internal';
  const body = JSON.stringify({ ok: false, error: { code, message } });
  const reason = { 401: 'Unauthorized', 500: 'Internal Server Error', 503: 'Service Unavailable' }[status];
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `${status === 401 ? 'www-authenticate: Bearer realm="sluice"\r\n' : ''}\r\n${body}`,
  );
}
