import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { maskedForRecord } from '../masking/record-text.js';
import { sendRefusal, type Refusal } from './gateway-errors.js';
import type { HttpGatewayContext, ListenerSide } from './http-context.js';
import type { ClientConnection } from './http-sessions.js';
import { admitCaller } from './caller-admission.js';
import { hasBody } from './request-body.js';
import { gateRequest, requestLine } from './request-gate.js';
import { exchange } from './upstream-exchange.js';

// One request on an HTTP listener, start to end: admission (framing, target, credential,
// resource, store), policy (and approval), then the exchange with the upstream. Never throws:
// whatever goes wrong is an answer to the caller and a line in the log.

export async function handleRequest(req: IncomingMessage, res: ServerResponse, ctx: HttpGatewayContext, side: ListenerSide, connection: ClientConnection): Promise<void> {
  const started = performance.now();
  // `Expect: 100-continue`: the body is asked for only once policy lets the request through.
  let continued = req.headers.expect?.toLowerCase() !== '100-continue';
  const sendContinue = () => {
    if (continued || res.headersSent) return;
    continued = true;
    res.writeContinue();
  };
  try {
    const admitted = await admitCaller(req, ctx, side, connection);
    if ('code' in admitted) return answer(req, res, admitted);
    const { session, resource, target } = admitted;
    const profile = ctx.masking.rules.profileFor(session.identity.groups);
    const forRecord = (text: string) => maskedForRecord(profile.content, text);
    const limited = ctx.rates.admit(session.identity, resource.name);
    if (limited) {
      void session.recording.event('limit', { ...limited.event, text: requestLine(req.method ?? 'GET', target, forRecord) });
      answer(req, res, limited.refusal);
      session.refused(limited.refusal, `${req.method ?? ''} ${target.path}`, performance.now() - started);
      return;
    }
    const gate = await gateRequest({ req, ctx, connection, session, resource, target, method: req.method ?? 'GET', forRecord, sendContinue });
    if (!gate.ok) {
      answer(req, res, gate.refusal);
      session.refused(gate.refusal, `${req.method ?? ''} ${target.path}`, performance.now() - started);
      return;
    }
    await exchange({ req, res, ctx, side, resource, session, target, admitted: gate, profile, forRecord, started, sendContinue });
  } catch (error) {
    ctx.log.error('http request failed unexpectedly', { client: connection.address, reason: (error as Error).message });
    answer(req, res, { status: 500, code: 'internal', message: 'the gateway failed while handling the request; its log has the detail', close: true });
  }
}

/**
 * Sends the gateway's own answer. When the caller's body was not read (refused before it, or past
 * a limit), the connection closes after it rather than reading on through a body nobody wants.
 */
function answer(req: IncomingMessage, res: ServerResponse, r: Refusal): void {
  sendRefusal(res, !req.complete && hasBody(req) ? { ...r, close: true } : r, req.method === 'HEAD');
}
