import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ApprovalOutcome, Requester } from '../approvals/approval-types.js';
import type { Decision } from '../policy/decision.js';
import { denialMessage } from '../policy/gateway-decisions.js';
import type { BodyFields, HttpRequestClass } from '../policy/http-request.js';
import { refusal, type Refusal } from './gateway-errors.js';
import type { HttpGatewayContext } from './http-context.js';
import { recordedHeaders } from './http-record.js';
import type { HttpResource } from './http-resources.js';
import type { ClientConnection, HttpSession } from './http-sessions.js';
import { bodyFields, hasBody, readBody } from './request-body.js';
import { pathViews, type RequestTarget } from './request-target.js';
import { outcomeMessage } from '../approvals/outcome-message.js';

// Every request before it goes upstream: policy decides on its method, path and (when a rule
// names them) its body's fields; deny answers 403 with the rule's reason; approve holds the
// request, its body buffered, until approvers decide, then forwards exactly those bytes once.
//
// The request is recorded here, with its decision, as an `http_request` event (its answer is an
// `http_response` event later) — except an allowed request in batched durability, which is
// recorded once, when it ends, as one `http_request` event holding its `response`: the audit
// store's cost is per event, and in batched mode both would sit in the same unwritten batch
// anyway. Denials, holds and strict durability keep the request on record before anything else.

export interface GateInput {
  readonly req: IncomingMessage;
  readonly ctx: HttpGatewayContext;
  readonly connection: ClientConnection;
  readonly session: HttpSession;
  readonly resource: HttpResource;
  readonly target: RequestTarget;
  /** The method policy sees: the request's, or WEBSOCKET for an upgrade. */
  readonly method: string;
  /** Content detectors of the caller, for what the record and approvers see. */
  readonly forRecord: (text: string) => string;
  /** Tells a client waiting on `Expect: 100-continue` to send its body. */
  readonly sendContinue: () => void;
}

/** What policy let through: forward it (with the held body, when there is one). */
export interface Admitted {
  readonly ok: true;
  readonly body?: Buffer;
  readonly verdict: Verdict;
  /** The request's record (committed, in strict mode, before it is forwarded). */
  readonly recorded: Promise<void>;
  /** The request's record, not yet written: it is written with its response, as one event. */
  readonly deferred?: Readonly<Record<string, unknown>>;
}

export interface Refused {
  readonly ok: false;
  readonly refusal: Refusal;
}

/** The decision a request ran (or was refused) under, as the record keeps it. */
export interface Verdict {
  readonly effect: Decision['effect'];
  readonly rule: string;
  readonly approval?: string;
}

const MAX_STATEMENT_BODY = 2_048;

/** What policy sees of the request; the other readings of its path are worked out only if a rule asks. */
class RequestClass implements HttpRequestClass {
  fields?: BodyFields;
  #views: readonly string[] | undefined;

  constructor(
    readonly method: string,
    readonly path: string,
  ) {}

  get pathViews(): readonly string[] {
    return (this.#views ??= pathViews(this.path));
  }

  get text(): string {
    return `${this.method} ${this.path}`;
  }
}

export async function gateRequest(input: GateInput): Promise<Admitted | Refused> {
  const { req, ctx, session, resource, target, method } = input;
  const request = new RequestClass(method, target.path);
  const identity = session.identity;

  let held: Buffer | undefined;
  let fields: BodyFields | undefined;
  if (!hasBody(req)) {
    fields = { kind: 'empty' };
  } else if (ctx.policy.httpWantsFields(identity, resource.name, request)) {
    const read = await holdBody(input);
    if (!read.ok) {
      // Refused before any decision: on record all the same.
      void record(input, undefined, undefined);
      return read;
    }
    held = read.body;
    fields = bodyFields(req, held, resource.bufferLimit);
  }
  if (fields) request.fields = fields;
  const decision = ctx.policy.decideHttp({ identity, resource: resource.name, request });
  // WEBSOCKET for an upgrade: what approvers and the record should call it.
  const line = requestLine(method, target, input.forRecord);

  switch (decision.effect) {
    case 'deny': {
      record(input, { effect: 'deny', rule: decision.rule }, held);
      recordDecision(input, decision, line);
      return { ok: false, refusal: refusal(403, 'denied', denialMessage(decision), decision.trace.length > 1 ? { detail: traceText(decision) } : {}) };
    }
    case 'allow': {
      const verdict: Verdict = { effect: 'allow', rule: decision.rule };
      const admitted = { ok: true as const, verdict, ...(held ? { body: held } : {}) };
      // A WebSocket lives long: its request is on record from the start.
      if (!ctx.strictAudit && method === req.method) return { ...admitted, recorded: Promise.resolve(), deferred: requestPayload(input, verdict, held) };
      return { ...admitted, recorded: record(input, verdict, held) };
    }
    case 'approve':
      return approve(input, decision, line, held);
  }
}

async function approve(input: GateInput, decision: Decision, line: string, alreadyHeld: Buffer | undefined): Promise<Admitted | Refused> {
  const { ctx, session, req, target } = input;
  const fingerprint = fingerprintOf(req.method ?? input.method, target.path);
  const grant = ctx.approvals.sessionGrant(session.id, fingerprint);
  if (grant) {
    const verdict: Verdict = { effect: 'approve', rule: decision.rule, approval: grant.id };
    const recorded = record(input, verdict, alreadyHeld);
    recordDecision(input, decision, line, { approval: grant.id, granted_until: grant.grantedUntil });
    return { ok: true, verdict, recorded, ...(alreadyHeld ? { body: alreadyHeld } : {}) };
  }
  // The approval binds to the exact bytes: the body is held before anyone is asked.
  let body = alreadyHeld;
  if (!body && hasBody(req)) {
    const read = await holdBody(input);
    if (!read.ok) {
      void record(input, { effect: 'approve', rule: decision.rule }, undefined);
      return read;
    }
    body = read.body;
  }
  const requester: Requester = { subject: session.identity.subject, issuer: session.identity.issuer, method: session.identity.method, groups: session.identity.groups, claims: session.identity.claims };
  const pending = ctx.approvals.request(
    {
      sessionId: session.id,
      resource: input.resource.name,
      protocol: 'http',
      requester,
      statement: body && body.length > 0 ? `${line}\n\n${input.forRecord(excerpt(body))}` : line,
      statementHash: requestHash(req.method ?? input.method, target, body),
      fingerprint,
      rule: decision.rule,
      reasons: decision.trace.map((step) => `${step.rule}: ${step.why}`),
      ...(decision.sessionGrantMs ? { sessionGrantMs: decision.sessionGrantMs } : {}),
      history: [...session.history],
    },
    session.recording,
  );
  const id = pending.approval.id;
  const verdict: Verdict = { effect: 'approve', rule: decision.rule, approval: id };
  const recorded = record(input, verdict, body);
  recordDecision(input, decision, line, { approval: id });
  ctx.log.info('http request held for approval', { session: session.id, resource: input.resource.name, approval: id, rule: decision.rule });
  const outcome = await waitFor(input, id, pending.outcome);
  if (outcome.status !== 'approved') {
    return { ok: false, refusal: refusal(outcome.status === 'cancelled' ? 503 : 403, `approval_${outcome.status}`, outcomeMessage(outcome), { approval: id }) };
  }
  try {
    // Single use: the broker refuses a second execution.
    ctx.approvals.executed(id);
  } catch (error) {
    return { ok: false, refusal: refusal(403, 'approval_used', `approval ${id} cannot be used: ${(error as Error).message}`, { approval: id }) };
  }
  return { ok: true, verdict, recorded, ...(body ? { body } : {}) };
}

/** Waits for the approvers; the request is cancelled when its client goes away first. */
async function waitFor(input: GateInput, id: string, outcome: Promise<ApprovalOutcome>): Promise<ApprovalOutcome> {
  const { connection, req, ctx } = input;
  const socket = req.socket;
  const cancel = () => ctx.approvals.cancel(id, 'the client disconnected while its request waited for approval');
  connection.held.add(id);
  socket.once('close', cancel);
  try {
    return await outcome;
  } finally {
    socket.off('close', cancel);
    connection.held.delete(id);
  }
}

async function holdBody(input: GateInput): Promise<{ ok: true; body: Buffer } | Refused> {
  const { req, resource } = input;
  input.sendContinue();
  const read = await readBody(req, resource.bufferLimit).catch((error: unknown) => error as Error);
  if (read instanceof Error) return { ok: false, refusal: refusal(400, 'client_closed', read.message, { close: true }) };
  if (read.ok) return { ok: true, body: read.bytes };
  return {
    ok: false,
    refusal: refusal(413, 'body_too_large', `the request body is larger than ${resource.bufferLimit} bytes, the most the gateway holds to check or to hold it for approval (resources[].buffer_limit of ${resource.name})`, { close: true }),
  };
}

/** The http_request event: what was asked, and under which decision (none: refused before one was made). */
function record(input: GateInput, verdict: Verdict | undefined, held: Buffer | undefined): Promise<void> {
  const committed = input.session.recording.event('http_request', requestPayload(input, verdict, held));
  return input.ctx.strictAudit ? committed : Promise.resolve();
}

function requestPayload(input: GateInput, verdict: Verdict | undefined, held: Buffer | undefined): Record<string, unknown> {
  const { req, target, forRecord, ctx, resource } = input;
  const declared = req.headers['content-length'];
  const injected = resource.injection?.kind === 'header' ? resource.injection.name.toLowerCase() : undefined;
  const body = held
    ? { bytes: held.length, ...(held.length > 0 && ctx.sampleBytes > 0 ? { sample: forRecord(held.subarray(0, ctx.sampleBytes).toString('utf8')), ...(held.length > ctx.sampleBytes ? { truncated: true } : {}) } : {}) }
    : hasBody(req)
      ? { streamed: true, ...(declared !== undefined ? { bytes: Number(declared) } : {}) }
      : { bytes: 0 };
  return {
    method: req.method,
    path: target.path,
    ...(target.query !== undefined ? { query: forRecord(target.query) } : {}),
    text: requestLine(input.method, target, forRecord),
    headers: recordedHeaders(req.rawHeaders, forRecord, injected),
    body,
    ...(input.method !== req.method ? { websocket: true } : {}),
    ...(verdict ? { decision: verdict } : {}),
  };
}

/** A `decision` event for a deny or a hold, as the PostgreSQL gateway writes (session filters and the replay read it). */
function recordDecision(input: GateInput, decision: Decision, line: string, extra: Readonly<Record<string, unknown>> = {}): void {
  void input.session.recording.event('decision', { protocol: 'http', effect: decision.effect, rule: decision.rule, reason: decision.reason, trace: decision.trace, text: line, ...extra });
}

/** `POST /refunds?x=1`, the query through the caller's content detectors. */
export function requestLine(method: string, target: RequestTarget, forRecord: (text: string) => string): string {
  return `${method} ${target.path}${target.query !== undefined ? `?${forRecord(target.query)}` : ''}`;
}

/** sha256 over the method, path, query and body bytes, each length-prefixed (an absent query distinct from an empty one). */
export function requestHash(method: string, target: RequestTarget, body: Buffer | undefined): string {
  const hash = createHash('sha256');
  for (const part of [method, target.path, target.query, body]) {
    const bytes = part === undefined ? undefined : typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
    const header = Buffer.allocUnsafe(4);
    header.writeInt32BE(bytes ? bytes.length : -1);
    hash.update(header);
    if (bytes) hash.update(bytes);
  }
  return hash.digest('hex');
}

/** What an "approve for the session" grant covers: the method and the path with ids abstracted (`POST /refunds/:id`). */
export function fingerprintOf(method: string, path: string): string {
  const shape = path
    .split('/')
    .map((segment) => (/^(?:\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{16,}|[0-9A-HJKMNP-TV-Z]{26})$/i.test(segment) ? ':id' : segment))
    .join('/');
  return `${method} ${shape}`;
}

function excerpt(body: Buffer): string {
  const text = body.subarray(0, MAX_STATEMENT_BODY).toString('utf8').replace(/\uFFFD+$/, '');
  return body.length > MAX_STATEMENT_BODY ? `${text}… (${body.length} bytes)` : text;
}

function traceText(decision: Decision): string {
  return decision.trace.map((step) => `${step.effect} by ${step.rule}: ${step.why}`).join('\n');
}

