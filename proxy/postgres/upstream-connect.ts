import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { serialize } from 'pg-protocol';
import type { Secret } from '../config/secret.js';
import { decodeBackend } from './backend-decode.js';
import { FrameQueue } from './frame-queue.js';
import { BackendCode, describeCode } from './message-codes.js';
import type { Frame, MessageReader, ReaderLimits } from './message-reader.js';
import { startupMessage } from './frontend-writer.js';
import { md5Password, startScram } from './scram-client.js';

export interface UpstreamTarget {
  /** The resource name, for messages. */
  readonly resource: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  readonly password: Secret | undefined;
  readonly sslmode: 'disable' | 'require' | 'verify-full';
  /** PEM CA bundle for verify-full; the system store when absent. */
  readonly ca?: string;
}

export interface UpstreamConnection {
  readonly socket: Socket;
  /** Continues framing the upstream stream where the login stopped. */
  readonly reader: MessageReader;
  /** ParameterStatus messages as the upstream sent them, forwarded to the client unchanged. */
  readonly parameterFrames: readonly Frame[];
  readonly parameters: ReadonlyMap<string, string>;
  /** The upstream's BackendKeyData, used only to route a client's CancelRequest. */
  readonly processId: number;
  readonly secretKey: number;
  readonly readyFrame: Frame;
}

/**
 * Why the gateway could not open an upstream session. `message` is safe to show a client: it
 * never holds the gateway's credentials (and upstream text is scrubbed of them).
 */
export class UpstreamError extends Error {
  override readonly name = 'UpstreamError';

  constructor(
    message: string,
    /** 08001 when the upstream cannot be reached or refuses the gateway; the upstream's own code otherwise. */
    readonly sqlstate = '08001',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const CONNECT_TIMEOUT_MS = 10_000;

/** Opens an authenticated upstream session with the gateway-held credentials. */
export async function connectUpstream(target: UpstreamTarget, startupParameters: Readonly<Record<string, string>>, limits: ReaderLimits): Promise<UpstreamConnection> {
  const socket = await openSocket(target);
  const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`)), CONNECT_TIMEOUT_MS);
  const queue = new FrameQueue(socket, limits);
  try {
    socket.write(startupMessage({ ...startupParameters, user: target.user, database: target.database }));
    await authenticate(target, socket, queue);
    const parameterFrames: Frame[] = [];
    const parameters = new Map<string, string>();
    let key: { processId: number; secretKey: number } | undefined;
    for (;;) {
      const frame = await queue.next();
      switch (frame.code) {
        case BackendCode.ParameterStatus: {
          const message = decodeBackend(frame);
          if (message.name === 'parameterStatus') parameters.set(message.parameterName, message.parameterValue);
          parameterFrames.push(frame);
          break;
        }
        case BackendCode.BackendKeyData: {
          const message = decodeBackend(frame);
          if (message.name === 'backendKeyData') key = { processId: message.processID, secretKey: message.secretKey };
          break;
        }
        case BackendCode.NoticeResponse:
          break;
        case BackendCode.ErrorResponse:
          throw upstreamRefusal(target, frame);
        case BackendCode.ReadyForQuery:
          clearTimeout(timer);
          return { socket, reader: queue.detach(), parameterFrames, parameters, processId: key?.processId ?? 0, secretKey: key?.secretKey ?? 0, readyFrame: frame };
        default:
          throw new UpstreamError(`the upstream of resource "${target.resource}" sent an unexpected ${describeCode(frame.code)} message during login`);
      }
    }
  } catch (error) {
    clearTimeout(timer);
    queue.detach();
    socket.destroy();
    if (error instanceof UpstreamError) throw error;
    throw new UpstreamError(`the connection to the upstream of resource "${target.resource}" failed during login: ${scrub(target, (error as Error).message)}`, '08006', { cause: error });
  }
}

async function authenticate(target: UpstreamTarget, socket: Socket, queue: FrameQueue): Promise<void> {
  let scram: ReturnType<typeof startScram> | undefined;
  for (;;) {
    const frame = await queue.next();
    if (frame.code === BackendCode.ErrorResponse) throw upstreamRefusal(target, frame);
    if (frame.code !== BackendCode.Authentication) {
      throw new UpstreamError(`the upstream of resource "${target.resource}" sent ${describeCode(frame.code)} before authenticating`);
    }
    const message = decodeBackend(frame);
    switch (message.name) {
      case 'authenticationOk':
        return;
      case 'authenticationCleartextPassword':
        socket.write(serialize.password(requirePassword(target)));
        break;
      case 'authenticationMD5Password':
        socket.write(serialize.password(md5Password(target.user, requirePassword(target), message.salt)));
        break;
      case 'authenticationSASL':
        if (!message.mechanisms.includes('SCRAM-SHA-256')) {
          throw new UpstreamError(`the upstream of resource "${target.resource}" offers only ${message.mechanisms.join(', ') || 'no'} SASL mechanisms; Sluice supports SCRAM-SHA-256`);
        }
        scram = startScram(requirePassword(target));
        socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.clientFirst));
        break;
      case 'authenticationSASLContinue':
        if (!scram) throw new UpstreamError(`the upstream of resource "${target.resource}" continued a SASL exchange that was never started`);
        socket.write(serialize.sendSCRAMClientFinalMessage(await scram.respond(message.data)));
        break;
      case 'authenticationSASLFinal':
        if (!scram) throw new UpstreamError(`the upstream of resource "${target.resource}" finished a SASL exchange that was never started`);
        scram.verifyServerFinal(message.data);
        break;
      default:
        throw new UpstreamError(`the upstream of resource "${target.resource}" sent ${message.name} instead of an authentication request`);
    }
  }
}

function requirePassword(target: UpstreamTarget): string {
  if (!target.password) throw new UpstreamError(`the upstream of resource "${target.resource}" asks for a password, but the resource has none configured (resources[].password)`);
  return target.password.reveal();
}

function upstreamRefusal(target: UpstreamTarget, frame: Frame): UpstreamError {
  const error = decodeBackend(frame);
  const code = (error.name === 'error' ? error.code : undefined) ?? '08001';
  if (code.startsWith('28')) {
    // Never relay the upstream's words here: they name the gateway's upstream user.
    return new UpstreamError(`the upstream of resource "${target.resource}" refused the gateway's credentials (SQLSTATE ${code}); an operator must check the resource's user and password`, '08001');
  }
  const reason = (error.name === 'error' ? error.message : undefined) ?? 'no reason given';
  return new UpstreamError(`the upstream of resource "${target.resource}" refused the connection: ${scrub(target, reason)} (SQLSTATE ${code})`, code);
}

function scrub(target: UpstreamTarget, text: string): string {
  return target.password?.occursIn(text) ? text.replaceAll(target.password.reveal(), '[secret]') : text;
}

async function openSocket(target: UpstreamTarget): Promise<Socket> {
  const tcp = await new Promise<Socket>((resolve, reject) => {
    const socket = netConnect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${CONNECT_TIMEOUT_MS / 1000}s`)), CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(new UpstreamError(`cannot reach the upstream of resource "${target.resource}" at ${target.host}:${target.port} (${(error as NodeJS.ErrnoException).code ?? error.message})`, '08001', { cause: error }));
    });
  });
  if (target.sslmode === 'disable') return tcp;
  return startTls(target, tcp);
}

async function startTls(target: UpstreamTarget, tcp: Socket): Promise<Socket> {
  const answer = await new Promise<Buffer>((resolve, reject) => {
    tcp.once('data', resolve);
    tcp.once('error', reject);
    tcp.once('close', () => reject(new Error('closed')));
    tcp.write(serialize.requestSsl());
  }).catch((cause: unknown) => {
    tcp.destroy();
    throw new UpstreamError(`the upstream of resource "${target.resource}" closed the connection when asked for TLS`, '08001', { cause });
  });
  tcp.removeAllListeners('error');
  tcp.removeAllListeners('close');
  tcp.pause();
  // Exactly one byte: anything after 'S' would be injected plaintext posing as TLS traffic.
  if (answer.length !== 1 || answer[0] !== 0x53) {
    tcp.destroy();
    throw new UpstreamError(`the upstream of resource "${target.resource}" does not accept TLS, and its sslmode is ${target.sslmode}`, '08001');
  }
  const verify = target.sslmode === 'verify-full';
  return new Promise<Socket>((resolve, reject) => {
    const secure = tlsConnect({
      socket: tcp,
      host: target.host,
      // SNI carries host names only; an IP address is checked against the certificate via `host`.
      servername: isIP(target.host) === 0 ? target.host : undefined,
      rejectUnauthorized: verify,
      ...(verify && target.ca ? { ca: target.ca } : {}),
    });
    secure.once('secureConnect', () => {
      secure.removeAllListeners('error');
      resolve(secure);
    });
    secure.once('error', (error) => {
      tcp.destroy();
      reject(new UpstreamError(`TLS with the upstream of resource "${target.resource}" failed: ${error.message}`, '08001', { cause: error }));
    });
  });
}
