import type { IncomingMessage } from 'node:http';
import { WebSocket } from 'ws';
import { printable } from '../common/printable.js';
import { ApiCallError, describeNetworkError, pinCheck, type ApiTarget } from '../cli/api-client.js';
import { EXEC_PATH, type ClientMessage, type ServerMessage } from './exec-protocol.js';

// The client end of `sluice exec` (exec-protocol.ts): opens the gateway's exec socket with the
// caller's credential, sends `start`, then forwards input, resizes and signals while it writes
// the command's output where it belongs, until the gateway reports the exit.

export interface ExecClientOptions {
  readonly target: ApiTarget;
  readonly credential: string;
  readonly start: Extract<ClientMessage, { type: 'start' }>;
  readonly onOutput: (data: string, stream: 'stdout' | 'stderr' | 'pty') => void;
  /** The command waits for approvers. */
  readonly onHeld?: (approval: string, message: string) => void;
  readonly onStarted?: (session: string) => void;
}

export type ExecEnd =
  | { readonly kind: 'exit'; readonly session: string; readonly exitCode: number | null; readonly signal: string | null }
  | { readonly kind: 'error'; readonly code: string; readonly message: string; readonly session?: string };

export interface ExecConnection {
  send(message: Exclude<ClientMessage, { type: 'start' }>): void;
  /** Resolves with the exit or the gateway's refusal; rejects with ApiCallError when the connection fails or ends early. */
  readonly ended: Promise<ExecEnd>;
  close(): void;
}

const MAX_SERVER_FRAME = 8 * 1024 * 1024;

export function connectExec(options: ExecClientOptions): ExecConnection {
  const { target } = options;
  const url = new URL(`${target.base.pathname.replace(/\/+$/, '')}${EXEC_PATH}`, target.base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const where = target.base.origin;
  const ws = new WebSocket(url, {
    headers: { authorization: `Bearer ${options.credential}` },
    maxPayload: MAX_SERVER_FRAME,
    perMessageDeflate: false,
    handshakeTimeout: 30_000,
    ...(target.ca !== undefined && { ca: target.ca }),
    ...(target.pinnedFingerprint !== undefined && { checkServerIdentity: pinCheck(target) }),
  });
  // What the caller sends before the socket is open (piped stdin arrives at once) waits here.
  const queued: string[] = [];
  const ended = new Promise<ExecEnd>((resolve, reject) => {
    let end: ExecEnd | undefined;
    ws.on('open', () => {
      ws.send(JSON.stringify(options.start));
      for (const message of queued.splice(0)) ws.send(message);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      let message: ServerMessage;
      try {
        message = JSON.parse(data.toString()) as ServerMessage;
      } catch {
        return;
      }
      switch (message.type) {
        case 'output':
          options.onOutput(message.data, message.stream);
          return;
        case 'held':
          options.onHeld?.(message.approval, message.message);
          return;
        case 'started':
          options.onStarted?.(message.session);
          return;
        case 'exit':
          end = { kind: 'exit', session: message.session, exitCode: message.exitCode, signal: message.signal };
          return;
        case 'error':
          end = { kind: 'error', code: message.code, message: message.message, ...(message.session !== undefined && { session: message.session }) };
          return;
      }
    });
    ws.on('unexpected-response', (_request, response: IncomingMessage) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        let message = `HTTP ${response.statusCode ?? '?'}`;
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { message?: unknown } };
          if (typeof body.error?.message === 'string') message = body.error.message;
        } catch {
          // Not the gateway's JSON: the status says enough.
        }
        const prefix = response.statusCode === 401 ? 'the gateway refused the credential: ' : response.statusCode === 404 ? `${where} has no exec endpoint (is it a Sluice gateway with exec resources?): ` : '';
        reject(new ApiCallError(`${prefix}${printable(message)}`));
        ws.terminate();
      });
    });
    ws.on('error', (error) => reject(describeNetworkError(error, where, target)));
    ws.on('close', () => {
      if (end) resolve(end);
      else reject(new ApiCallError(`the connection to the gateway at ${where} closed before the command ended`));
    });
  });
  // Settled by the caller's await; unhandled until then is fine.
  ended.catch(() => undefined);
  return {
    send(message) {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
      else if (ws.readyState === ws.CONNECTING) queued.push(JSON.stringify(message));
    },
    ended,
    close: () => ws.close(1000, 'client done'),
  };
}
