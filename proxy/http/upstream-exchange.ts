import { request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import { Transform, Writable, type TransformCallback } from 'node:stream';
import type { MaskingProfile } from '../masking/masking-rules.js';
import { decoder, encoder } from './content-coding.js';
import { clientResponseHeaders, headerValue, upstreamPath, upstreamRequestHeaders } from './forward-headers.js';
import { sendRefusal, type Refusal } from './gateway-errors.js';
import { prefixFor, type HttpGatewayContext, type ListenerSide } from './http-context.js';
import { BodySample, isTextual, recordedHeaders } from './http-record.js';
import type { HttpResource } from './http-resources.js';
import type { HttpSession } from './http-sessions.js';
import { hasBody } from './request-body.js';
import type { Admitted } from './request-gate.js';
import type { RequestTarget } from './request-target.js';
import { BodyRewriter, planResponse, rewritingStream, type ResponsePlan } from './response-masking.js';
import { upstreamRefusal } from './upstream-error.js';

// One admitted request to its upstream and the answer back: the request with the gateway's
// credential instead of the caller's, its body streamed (or the held bytes sent once), then the
// response through masking, with both directions' backpressure, and its record.

/** A masked body this small (by the upstream's Content-Length) is sent with its exact new length; larger ones are chunked. */
const BUFFERED_RESPONSE = 256 * 1024;
const SAFE_TO_RETRY = new Set(['GET', 'HEAD', 'OPTIONS']);
const EMPTY = Buffer.alloc(0);

export interface ExchangeInput {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly ctx: HttpGatewayContext;
  readonly side: ListenerSide;
  readonly resource: HttpResource;
  readonly session: HttpSession;
  readonly target: RequestTarget;
  readonly admitted: Admitted;
  readonly profile: MaskingProfile;
  readonly forRecord: (text: string) => string;
  /** performance.now() when the request arrived. */
  readonly started: number;
  readonly sendContinue: () => void;
}

interface Outcome {
  readonly status: number;
  readonly source: 'upstream' | 'gateway';
  readonly outcome: 'ok' | 'error' | 'aborted';
  readonly error?: { readonly code: string; readonly message: string };
  readonly headers?: Record<string, string>;
  readonly body?: Record<string, unknown>;
  readonly masked?: Map<string, number>;
}

export async function exchange(input: ExchangeInput): Promise<void> {
  await input.admitted.recorded;
  const requestSample = new BodySample(input.ctx.sampleBytes);
  const outcome = await forward(input, requestSample, true);
  finish(input, outcome, requestSample);
}

function forward(input: ExchangeInput, requestSample: BodySample, mayRetry: boolean): Promise<Outcome> {
  const { req, res, resource, target, admitted, profile, ctx } = input;
  const method = req.method ?? 'GET';
  const streamed = admitted.body === undefined && hasBody(req);
  const declared = req.headers['content-length'];
  const headers = upstreamRequestHeaders(req.rawHeaders, {
    resource,
    contentLength: admitted.body ? admitted.body.length : declared !== undefined ? Number(declared) : undefined,
    chunked: streamed,
    masking: !profile.content.empty || profile.jsonPaths !== undefined,
  });
  const options = { host: resource.host, port: resource.port, method, path: upstreamPath(resource, target.path, target.query), headers, agent: resource.agent, setHost: false };
  const upstream: ClientRequest = resource.secure ? httpsRequest(options) : httpRequest(options);
  const tap = streamed ? sampler(requestSample) : undefined;
  let timedOut = false;
  upstream.setTimeout(resource.timeoutMs, () => {
    timedOut = true;
    upstream.destroy(Object.assign(new Error('the upstream did not answer in time'), { code: 'ETIMEDOUT' }));
  });

  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      res.off('close', onClientClose);
      resolve(outcome);
    };
    const onClientClose = () => {
      if (res.writableFinished) return;
      upstream.destroy();
      done({ status: res.headersSent ? res.statusCode : 499, source: 'upstream', outcome: 'aborted', error: { code: 'client_closed', message: 'the client went away before the response was complete' } });
    };
    res.once('close', onClientClose);

    let responded = false;
    upstream.on('error', (error: NodeJS.ErrnoException) => {
      // After the response began, its relay reports what breaks.
      if (settled || responded) return;
      stopBody();
      // A pooled connection the upstream closed while idle: safe requests go again, once, on a new one.
      // Never an approved request: an approval is for one execution.
      if (mayRetry && upstream.reusedSocket && error.code === 'ECONNRESET' && !streamed && SAFE_TO_RETRY.has(method) && admitted.verdict.approval === undefined) {
        res.off('close', onClientClose);
        settled = true;
        resolve(forward(input, requestSample, false));
        return;
      }
      ctx.log.warn('http upstream request failed', { session: input.session.id, resource: resource.name, upstream: resource.origin, code: error.code ?? 'unknown', reason: error.message });
      const refusal = upstreamRefusal(resource.name, error, timedOut);
      if (!res.headersSent) sendRefusal(res, refusal);
      else res.destroy();
      done({ status: refusal.status, source: 'gateway', outcome: 'error', error: { code: refusal.code, message: refusal.message } });
    });

    upstream.on('response', (answer) => {
      responded = true;
      relayResponse(input, answer).then(done, (error: unknown) => {
        // A bug, or an upstream header node will not send on (it validates what it writes): never a hanging client.
        ctx.log.error('http response relay failed', { session: input.session.id, resource: resource.name, reason: (error as Error).message });
        answer.destroy();
        sendRefusal(res, { status: 502, code: 'upstream_invalid', message: `the response from the upstream of ${resource.name} could not be relayed` });
        done({ status: 502, source: 'gateway', outcome: 'error', error: { code: 'relay_failed', message: (error as Error).message } });
      });
    });

    if (admitted.body !== undefined) {
      requestSample.add(admitted.body);
      upstream.end(admitted.body);
    } else if (streamed) {
      input.sendContinue();
      // Not pipeline(): an upstream failure must not destroy the client's socket, which still gets its 502.
      req.pipe(tap!).pipe(upstream);
      req.once('error', (error) => upstream.destroy(error));
    } else {
      upstream.end();
    }
  });

  /** The upstream failed while the body streamed: the rest of it is read and dropped. */
  function stopBody(): void {
    if (!tap) return;
    req.unpipe(tap);
    tap.unpipe(upstream);
    req.resume();
  }
}

/** The upstream answered: its response to the caller, masked as the plan says. */
async function relayResponse(input: ExchangeInput, answer: IncomingMessage): Promise<Outcome> {
  const { req, res, resource, profile, session, side } = input;
  const status = answer.statusCode ?? 502;
  // The upstream's own headers may echo the gateway's credential: scrubbed for the record too.
  const recorded = recordedHeaders(answer.rawHeaders, (text) => {
    const masked = input.forRecord(text);
    return resource.scrubber.scrubText(masked) ?? masked;
  });
  const noBody = req.method === 'HEAD' || status === 204 || status === 304 || status < 200;
  const plan = planResponse(answer, profile, resource);
  if ('code' in plan) {
    answer.destroy();
    input.ctx.log.warn('http response refused', { session: session.id, resource: resource.name, code: plan.code, content_type: headerValue(answer.headers, 'content-type') ?? '' });
    sendRefusal(res, plan);
    return { status: plan.status, source: 'gateway', outcome: 'error', error: { code: plan.code, message: plan.message }, headers: recorded };
  }
  const hits = new Map<string, number>();
  const scrubText = resource.scrubber.empty ? undefined : (text: string) => resource.scrubber.scrubText(text);
  const maskValue = (value: string) => {
    let masked = value;
    if (!profile.content.empty) {
      const found = profile.content.mask(value, hits);
      if (found !== undefined) masked = found ?? '[redacted]';
    }
    return scrubText?.(masked) ?? masked;
  };
  const rewrite = plan.rewrite && !noBody;
  const headers = clientResponseHeaders(answer.rawHeaders, { resource, rewritten: rewrite, prefix: prefixFor(side, resource.name), maskValue });
  headers.push('Sluice-Session', session.id);
  const sample = new BodySample(input.ctx.sampleBytes);
  const textual = plan.kind !== 'binary' && isTextual(plan.contentType ?? 'text/plain');
  const result = (outcome: Outcome['outcome'], error?: Outcome['error']): Outcome => ({
    status,
    source: 'upstream',
    outcome,
    ...(error ? { error } : {}),
    headers: recorded,
    body: sample.payload(textual, input.forRecord),
    masked: hits,
  });

  if (noBody) {
    answer.resume();
    res.writeHead(status, headers);
    res.end();
    return result('ok');
  }
  const scrub = rewrite && scrubText ? { bytes: resource.scrubber.stream(), escaped: scrubText } : undefined;
  const rewriter = new BodyRewriter(rewrite ? plan : { ...plan, masked: false }, profile, hits, sample, scrub);
  const declared = Number(answer.headers['content-length'] ?? NaN);
  if (rewrite && !plan.coding && Number.isFinite(declared) && declared <= BUFFERED_RESPONSE) {
    // Small and plain (the common API answer): read whole, masked in one go, sent with its exact
    // length; refused cleanly (502, nothing sent) if it cannot be masked.
    const read = await readAll(answer);
    let body: Buffer;
    try {
      if ('error' in read) throw read.error;
      body = Buffer.concat([rewriter.write(read.body) ?? EMPTY, rewriter.end() ?? EMPTY]);
    } catch (error) {
      return failed(input, plan, error as Error, result);
    }
    res.writeHead(status, [...headers, 'Content-Length', String(body.length)]);
    res.end(body);
    return result('ok');
  }
  const stages: Stream[] = [answer];
  if (rewrite && plan.coding) stages.push(decoder(plan.coding));
  stages.push(rewritingStream(rewriter));
  if (rewrite && plan.coding) stages.push(encoder(plan.coding));
  if (rewrite && plan.coding && Number.isFinite(declared) && declared <= BUFFERED_RESPONSE) {
    const chunks: Buffer[] = [];
    const error = await pump(stages, collector(chunks));
    if (error) return failed(input, plan, error, result);
    const body = Buffer.concat(chunks);
    res.writeHead(status, [...headers, 'Content-Length', String(body.length)]);
    res.end(body);
    return result('ok');
  }
  res.writeHead(status, headers);
  const error = await pump(stages, clientSink(res));
  if (error) return failed(input, plan, error, result);
  return result('ok');
}

function failed(input: ExchangeInput, plan: ResponsePlan, error: Error, result: (outcome: Outcome['outcome'], error?: Outcome['error']) => Outcome): Outcome {
  const { res, resource, session, ctx } = input;
  if (res.destroyed && !res.writableFinished && (error as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
    return result('aborted', { code: 'client_closed', message: 'the client went away before the response was complete' });
  }
  const masking = error.name === 'JsonMaskError';
  const message = masking
    ? `the ${plan.kind} body from the upstream of ${resource.name} could not be masked (${error.message}), so Sluice stopped it`
    : `the response from the upstream of ${resource.name} broke off (${(error as NodeJS.ErrnoException).code ?? error.message})`;
  ctx.log.warn('http response stopped', { session: session.id, resource: resource.name, reason: error.message });
  const refusal: Refusal = { status: 502, code: masking ? 'unmaskable_response' : 'upstream_closed', message };
  // Before the head went out the caller gets a clean 502; after, the body is cut (an incomplete message).
  sendRefusal(res, refusal);
  return { ...result('error', { code: refusal.code, message }), ...(res.headersSent ? {} : { status: 502, source: 'gateway' as const }) };
}

type Stream = NodeJS.ReadableStream & { destroy(error?: Error): void };

/**
 * Pipes the stages into the sink with backpressure; resolves when the sink finished, or with the
 * first error (every stage is then destroyed). Not stream.pipeline: its per-call AbortController
 * costs a DOMException and its stack trace on every response.
 */
function pump(stages: readonly Stream[], sink: Writable): Promise<Error | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const all: (Stream | Writable)[] = [...stages, sink];
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error) for (const stream of all) stream.destroy();
      resolve(error);
    };
    let previous = stages[0]!;
    for (const next of [...stages.slice(1), sink]) previous = previous.pipe(next as NodeJS.WritableStream) as unknown as Stream;
    for (const stream of all) stream.once('error', (error: Error) => finish(error));
    // A response the upstream cut short closes without ending.
    stages[0]!.once('close', () => {
      if (!(stages[0] as unknown as { readableEnded: boolean }).readableEnded) finish(Object.assign(new Error('the upstream closed the response before its end'), { code: 'ECONNRESET' }));
    });
    sink.once('finish', () => finish());
  });
}

/** A small body, read whole. */
function readAll(source: IncomingMessage): Promise<{ body: Buffer } | { error: Error }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    source.on('data', (chunk: Buffer) => chunks.push(chunk));
    source.once('end', () => resolve({ body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
    source.once('error', (error) => resolve({ error }));
    source.once('close', () => {
      if (!source.readableEnded) resolve({ error: Object.assign(new Error('the upstream closed the response before its end'), { code: 'ECONNRESET' }) });
    });
  });
}

function collector(chunks: Buffer[]): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
}

/** Writes to the client with its backpressure; the pipeline fails if the client goes away. */
function clientSink(res: ServerResponse): Writable {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (res.write(chunk)) callback();
      else res.once('drain', () => callback());
    },
    final(callback) {
      res.end(() => callback());
    },
  });
  res.once('close', () => {
    if (!res.writableFinished) sink.destroy(Object.assign(new Error('the client went away'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  });
  return sink;
}

function sampler(sample: BodySample): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback: TransformCallback) {
      sample.add(chunk);
      callback(null, chunk);
    },
  });
}

/** The answer's record (an http_response event, or with a deferred request one http_request event), and the session's counters. */
function finish(input: ExchangeInput, outcome: Outcome, requestSample: BodySample): void {
  const { session, req, target, forRecord, admitted, started } = input;
  const streamedRequest = admitted.body === undefined && requestSample.bytes > 0;
  const masked = outcome.masked && outcome.masked.size > 0 ? Object.fromEntries(outcome.masked) : undefined;
  if (outcome.source === 'gateway') void session.recording.event('error', { source: 'gateway', code: outcome.error?.code ?? 'failed', message: outcome.error?.message ?? `answered ${outcome.status}` });
  const response = {
    status: outcome.status,
    source: outcome.source,
    outcome: outcome.outcome,
    ...(outcome.error ? { error: outcome.error } : {}),
    ...(outcome.headers ? { headers: outcome.headers } : {}),
    ...(outcome.body ? { body: outcome.body } : {}),
    ...(masked ? { masked } : {}),
    ...(streamedRequest ? { request_body: requestSample.payload(isTextual((headerValue(req.headers, 'content-type') ?? '').split(';')[0]!.trim().toLowerCase()), forRecord) } : {}),
    duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
  };
  if (admitted.deferred) void session.recording.event('http_request', { ...admitted.deferred, response });
  else void session.recording.event('http_response', response);
  session.count(`${req.method ?? ''} ${target.path}`, outcome.outcome !== 'ok' || outcome.status >= 500);
}
