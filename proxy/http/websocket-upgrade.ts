import { request as httpRequest, STATUS_CODES, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { JsonStreamMasker } from '../masking/json-stream-masker.js';
import type { MaskingProfile } from '../masking/masking-rules.js';
import { maskedForRecord } from '../masking/record-text.js';
import { WEBSOCKET_METHOD } from '../policy/http-request.js';
import { admitCaller } from './caller-admission.js';
import { clientResponseHeaders, upstreamPath, upstreamRequestHeaders } from './forward-headers.js';
import { refusal, writeRawRefusal, type Refusal } from './gateway-errors.js';
import { prefixFor, type HttpGatewayContext, type ListenerSide } from './http-context.js';
import type { HttpResource } from './http-resources.js';
import type { ClientConnection, HttpSession } from './http-sessions.js';
import { hasBody } from './request-body.js';
import { gateRequest } from './request-gate.js';
import { closeFrame, FrameError, FrameObserver, MessageMasker, OPCODES } from './websocket-frames.js';
import { upstreamRefusal } from './upstream-error.js';

// WebSocket upgrades: decided by policy as method WEBSOCKET (an allow rule for GET does not open
// a full-duplex channel), then passed through frame for frame. Messages are recorded (the first
// ones, sampled and masked); for a caller masking rules apply to, text messages from the
// upstream are masked like response bodies and binary ones refused unless the resource passes
// application/octet-stream.

const MAX_RECORDED_MESSAGES = 200;
const MAX_SAMPLE = 512;
const MAX_MASKED_MESSAGE = 1024 * 1024;
/** The body of an upstream's refusal to upgrade that the gateway relays. */
const MAX_REFUSAL_BODY = 64 * 1024;

export async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, ctx: HttpGatewayContext, side: ListenerSide, connection: ClientConnection): Promise<void> {
  const started = performance.now();
  socket.on('error', () => {});
  try {
    if (req.method !== 'GET' || req.headers.upgrade?.toLowerCase() !== 'websocket' || req.headers['sec-websocket-key'] === undefined) {
      writeRawRefusal(socket, refusal(400, 'bad_upgrade', 'only WebSocket upgrades (GET with Upgrade: websocket and Sec-WebSocket-Key) are accepted'));
      return;
    }
    // Bytes after an upgrade's head would reach the upstream as frames: an upgrade has no body.
    if (hasBody(req)) {
      writeRawRefusal(socket, refusal(400, 'bad_upgrade', 'a WebSocket upgrade request must not have a body'));
      return;
    }
    const admitted = await admitCaller(req, ctx, side, connection);
    if ('code' in admitted) {
      writeRawRefusal(socket, admitted);
      return;
    }
    const { session, resource, target } = admitted;
    const profile = ctx.masking.rules.profileFor(session.identity.groups);
    const forRecord = (text: string) => maskedForRecord(profile.content, text);
    const line = `${WEBSOCKET_METHOD} ${target.path}`;
    const gate = await gateRequest({ req, ctx, connection, session, resource, target, method: WEBSOCKET_METHOD, forRecord, sendContinue: () => {} });
    if (!gate.ok) {
      writeRawRefusal(socket, gate.refusal);
      session.refused(gate.refusal, line, performance.now() - started);
      return;
    }
    await gate.recorded;
    if (socket.destroyed) {
      session.refused(refusal(499, 'client_closed', 'the client went away before the upgrade'), line, performance.now() - started);
      return;
    }
    connectUpstream({ req, socket, head, ctx, side, session, resource, profile, forRecord, line, started, path: upstreamPath(resource, target.path, target.query) });
  } catch (error) {
    ctx.log.error('http upgrade failed unexpectedly', { client: connection.address, reason: (error as Error).message });
    writeRawRefusal(socket, refusal(500, 'internal', 'the gateway failed while handling the upgrade; its log has the detail'));
  }
}

interface UpgradeContext {
  readonly req: IncomingMessage;
  readonly socket: Duplex;
  readonly head: Buffer;
  readonly ctx: HttpGatewayContext;
  readonly side: ListenerSide;
  readonly session: HttpSession;
  readonly resource: HttpResource;
  readonly profile: MaskingProfile;
  readonly forRecord: (text: string) => string;
  readonly line: string;
  readonly started: number;
  readonly path: string;
}

function connectUpstream(u: UpgradeContext): void {
  const { req, socket, resource, ctx, session } = u;
  const headers = upstreamRequestHeaders(req.rawHeaders, { resource, contentLength: undefined, masking: false, websocket: true });
  const options = { host: resource.host, port: resource.port, method: 'GET', path: u.path, headers, agent: resource.agent, setHost: false };
  const upstream = resource.secure ? httpsRequest(options) : httpRequest(options);
  let timedOut = false;
  let settled = false;
  upstream.setTimeout(resource.timeoutMs, () => {
    timedOut = true;
    upstream.destroy(Object.assign(new Error('the upstream did not answer the upgrade in time'), { code: 'ETIMEDOUT' }));
  });
  const giveUp = () => upstream.destroy();
  socket.once('close', giveUp);
  const refuse = (r: Refusal) => {
    settled = true;
    socket.off('close', giveUp);
    writeRawRefusal(socket, r);
    session.refused(r, u.line, performance.now() - u.started);
  };
  upstream.on('error', (error: NodeJS.ErrnoException) => {
    if (settled) return;
    ctx.log.warn('http upstream upgrade failed', { session: session.id, resource: resource.name, upstream: resource.origin, code: error.code ?? 'unknown' });
    refuse(upstreamRefusal(resource.name, error, timedOut));
  });
  upstream.on('response', (answer) => {
    // The upstream declined to upgrade: its answer (bounded) goes back, and the connection ends.
    settled = true;
    socket.off('close', giveUp);
    relayRefusedUpgrade(u, answer);
  });
  upstream.on('upgrade', (answer: IncomingMessage, upstreamSocket: Socket, upstreamHead: Buffer) => {
    settled = true;
    upstream.setTimeout(0);
    socket.off('close', giveUp);
    if (answer.headers['sec-websocket-extensions'] !== undefined) {
      upstreamSocket.destroy();
      refuse(refusal(502, 'upstream_invalid', `the upstream of ${resource.name} accepted a WebSocket extension the gateway did not offer; Sluice does not pass frames it cannot read`));
      return;
    }
    if (socket.destroyed) {
      upstreamSocket.destroy();
      return;
    }
    const maskValue = (value: string) => scrubbed(u, value);
    const lines = clientResponseHeaders(answer.rawHeaders, { resource, rewritten: false, prefix: prefixFor(u.side, resource.name), maskValue, upgrade: true });
    lines.push('Sluice-Session', session.id);
    let head = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (let i = 0; i + 1 < lines.length; i += 2) head += `${lines[i]}: ${lines[i + 1]}\r\n`;
    socket.write(`${head}\r\n`);
    relayFrames(u, upstreamSocket, upstreamHead);
  });
  upstream.end();
}

function relayRefusedUpgrade(u: UpgradeContext, answer: IncomingMessage): void {
  const chunks: Buffer[] = [];
  let size = 0;
  answer.on('data', (chunk: Buffer) => {
    if (size < MAX_REFUSAL_BODY) chunks.push(chunk.subarray(0, MAX_REFUSAL_BODY - size));
    size += chunk.length;
  });
  answer.on('error', () => u.socket.destroy());
  answer.on('end', () => {
    const status = answer.statusCode ?? 502;
    const body = maskedBody(u, Buffer.concat(chunks));
    const lines = clientResponseHeaders(answer.rawHeaders, { resource: u.resource, rewritten: true, contentEncoding: null, prefix: prefixFor(u.side, u.resource.name), maskValue: (value) => scrubbed(u, maskText(u, value) ?? value) });
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`;
    for (let i = 0; i + 1 < lines.length; i += 2) head += `${lines[i]}: ${lines[i + 1]}\r\n`;
    head += `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    u.socket.end(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    void u.session.recording.event('http_response', { status, source: 'upstream', outcome: 'ok', websocket: { upgraded: false }, duration_ms: ms(u.started) });
    u.session.count(u.line, status >= 500);
  });
}

/** Both directions after the 101: bytes pass on as they come, observed (and, toward a masked caller, rewritten) frame by frame. */
function relayFrames(u: UpgradeContext, upstream: Socket, upstreamHead: Buffer): void {
  const { socket: client, session, resource, profile } = u;
  const masked = !profile.content.empty || profile.jsonPaths !== undefined;
  const counts = { messages_in: 0, messages_out: 0, bytes_in: 0, bytes_out: 0, unrecorded: 0 };
  const hits = new Map<string, number>();
  const sampleBytes = Math.min(u.ctx.sampleBytes, MAX_SAMPLE);
  const recordMessage = (kind: 'input' | 'output', opcode: number, bytes: number, sample: Buffer) => {
    if (kind === 'input') {
      counts.messages_in++;
      counts.bytes_in += bytes;
    } else {
      counts.messages_out++;
      counts.bytes_out += bytes;
    }
    if (counts.messages_in + counts.messages_out > MAX_RECORDED_MESSAGES) {
      counts.unrecorded++;
      return;
    }
    const type = OPCODES[opcode] ?? String(opcode);
    const text = opcode === 1 || opcode === 8 ? sample.subarray(opcode === 8 ? 2 : 0, sampleBytes).toString('utf8') : undefined;
    void session.recording.event(kind, { channel: 'websocket', type, bytes, ...(opcode === 8 && sample.length >= 2 ? { code: sample.readUInt16BE(0) } : {}), ...(text ? { sample: u.forRecord(text) } : {}) });
  };
  const inbound = new FrameObserver(sampleBytes, (message) => recordMessage('input', message.opcode, message.bytes, message.sample));
  const outbound =
    masked || !resource.scrubber.empty
      ? new MessageMasker({
          maskText: (text) => maskMessage(u, text, hits, masked),
          passBinary: !masked || resource.passContentType('application/octet-stream'),
          maxMessage: MAX_MASKED_MESSAGE,
          onMessage: (opcode, payload) => recordMessage('output', opcode, payload.length, payload.subarray(0, sampleBytes)),
        })
      : new FrameObserver(sampleBytes, (message) => recordMessage('output', message.opcode, message.bytes, message.sample));
  let ended = false;
  let failure: { code: string; message: string } | undefined;
  const end = (reason: string) => {
    if (ended) return;
    ended = true;
    client.destroy();
    upstream.destroy();
    void session.recording.event('http_response', {
      status: 101,
      source: 'upstream',
      outcome: failure ? 'error' : 'ok',
      ...(failure ? { error: failure } : {}),
      websocket: { ...counts, ended: reason },
      ...(hits.size > 0 ? { masked: Object.fromEntries(hits) } : {}),
      duration_ms: ms(u.started),
    });
    session.count(u.line, failure !== undefined);
  };
  const fail = (error: unknown, toClient: boolean) => {
    const frameError = error instanceof FrameError ? error : new FrameError((error as Error).message, 1011);
    failure = { code: 'websocket_refused', message: frameError.message };
    u.ctx.log.warn('websocket relay stopped', { session: session.id, resource: resource.name, reason: frameError.message });
    // The caller learns why; the upstream just loses its connection.
    if (toClient && client.writable) client.write(closeFrame(frameError.closeCode, frameError.message));
    end('refused');
  };

  const toUpstream = (chunk: Buffer) => {
    try {
      inbound.write(chunk);
    } catch (error) {
      fail(error, true);
      return;
    }
    if (!upstream.write(chunk)) client.pause();
  };
  const toClient = (chunk: Buffer) => {
    let out: Buffer[];
    try {
      if (outbound instanceof MessageMasker) out = outbound.write(chunk);
      else {
        outbound.write(chunk);
        out = [chunk];
      }
    } catch (error) {
      fail(error, true);
      return;
    }
    for (const bytes of out) if (!client.write(bytes)) upstream.pause();
  };
  upstream.on('drain', () => client.resume());
  client.on('drain', () => upstream.resume());
  client.on('data', toUpstream);
  upstream.on('data', toClient);
  client.on('end', () => upstream.end());
  upstream.on('end', () => client.end());
  client.on('close', () => end('the client closed the connection'));
  upstream.on('close', () => end('the upstream closed the connection'));
  upstream.on('error', () => {});
  upstream.setTimeout(0);
  upstream.setNoDelay(true);
  if (upstreamHead.length > 0) toClient(upstreamHead);
  if (u.head.length > 0) toUpstream(u.head);
}

/** A text message toward a masked caller: JSON by json_paths and detectors, other text by detectors; then the credential scrub. */
function maskMessage(u: UpgradeContext, text: string, hits: Map<string, number>, masked: boolean): string | undefined {
  let result: string | undefined;
  if (masked) {
    const trimmed = text.trimStart();
    if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
      try {
        const masker = new JsonStreamMasker({ ...(u.profile.jsonPaths ? { paths: u.profile.jsonPaths } : {}), content: u.profile.content, hits });
        const bytes = Buffer.concat([...masker.write(Buffer.from(text, 'utf8')), ...masker.end()]).toString('utf8');
        if (bytes !== text) result = bytes;
      } catch {
        result = maskText(u, text, hits);
      }
    } else {
      result = maskText(u, text, hits);
    }
  }
  const scrubbed = u.resource.scrubber.scrubText(result ?? text);
  return scrubbed ?? result;
}

function maskText(u: UpgradeContext, text: string, hits = new Map<string, number>()): string | undefined {
  if (u.profile.content.empty) return undefined;
  const masked = u.profile.content.mask(text, hits);
  return masked === null ? '[hidden by a masking rule]' : masked;
}

function scrubbed(u: UpgradeContext, text: string): string {
  return u.resource.scrubber.scrubText(text) ?? text;
}

function maskedBody(u: UpgradeContext, body: Buffer): Buffer {
  const text = body.toString('utf8');
  const masked = maskText(u, text);
  const scrubbed = u.resource.scrubber.scrubText(masked ?? text);
  return scrubbed !== undefined || masked !== undefined ? Buffer.from(scrubbed ?? masked!, 'utf8') : body;
}

function ms(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
