import type { IncomingMessage } from 'node:http';
import { authenticateCaller, bearerCredential } from '../api/api-auth.js';
import { isRunCredential } from '../identity/run-credentials.js';
import type { Logger } from '../engine/logger.js';
import type { Identity } from '../identity/identity.js';
import { refusal, type Refusal } from './gateway-errors.js';
import type { HttpGatewayContext, ListenerSide } from './http-context.js';
import type { HttpResource } from './http-resources.js';
import type { ClientConnection, HttpSession } from './http-sessions.js';
import { parseTarget, routeTarget, TargetError, type RequestTarget } from './request-target.js';

// Everything a request must pass before policy looks at it: framing the parser let through but
// the gateway refuses, a target it can read one way only, a credential, a resource the caller
// may use, and an audit store that can record.

export interface AdmittedCaller {
  readonly identity: Identity;
  readonly resource: HttpResource;
  readonly target: RequestTarget;
  readonly session: HttpSession;
}

/** What llhttp accepts but a gateway must not: each is a way to make two parsers disagree. */
export function framingProblem(req: IncomingMessage): Refusal | undefined {
  const te = req.headers['transfer-encoding'];
  if (te !== undefined) {
    // Only plain chunked framing; `gzip, chunked` and friends are refused (the gateway would forward a body it cannot read).
    if (te.trim().toLowerCase() !== 'chunked') return refusal(400, 'bad_framing', 'Transfer-Encoding must be exactly "chunked"', { close: true });
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 0) return refusal(400, 'bad_framing', 'Transfer-Encoding is not allowed in an HTTP/1.0 request', { close: true });
  }
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'host') hosts++;
  if (hosts > 1) return refusal(400, 'bad_framing', 'the request has more than one Host header', { close: true });
  return undefined;
}

/** Where the request goes: `/r/NAME/...` on the shared listener, the path itself on a resource's own. */
export function targetOf(req: IncomingMessage, side: ListenerSide): { resource: string; target: RequestTarget } | Refusal {
  try {
    if (side.resource !== undefined) return { resource: side.resource, target: parseTarget(req.url ?? '') };
    const routed = routeTarget(req.url ?? '');
    return { resource: routed.resource, target: { path: routed.path, query: routed.query } };
  } catch (error) {
    if (error instanceof TargetError) return refusal(400, 'bad_target', error.message, { close: true });
    throw error;
  }
}

export async function admitCaller(req: IncomingMessage, ctx: HttpGatewayContext, side: ListenerSide, connection: ClientConnection): Promise<AdmittedCaller | Refusal> {
  const framing = framingProblem(req);
  if (framing) return framing;
  const routed = targetOf(req, side);
  if ('code' in routed) return routed;
  if (side.requireTls && !side.secure) {
    return refusal(403, 'tls_required', 'this Sluice listener accepts credentials only over TLS; an administrator can enable listen.http tls (or allow_cleartext_without_tls on a trusted network)');
  }
  const identity = await authenticate(req, ctx, connection);
  if ('code' in identity) return identity;

  const resource = ctx.resources.get(routed.resource);
  const open = connection.openResources(identity, () => ctx.policy.resourcesFor(identity).filter((name) => ctx.resources.has(name)));
  // Unknown and forbidden look the same: a caller learns only the resources open to it.
  if (!resource || !open.includes(routed.resource)) {
    return refusal(404, 'unknown_resource', `resource "${routed.resource}" does not exist or you may not use it; ${open.length > 0 ? `your http resources: ${open.join(', ')}` : 'no http resource is open to you; ask an administrator'}`);
  }
  if (ctx.store.failure) {
    return refusal(503, 'audit_store_failing', 'the audit store is failing, so Sluice refuses requests it cannot record; an operator must check the gateway log', { headers: { 'Retry-After': '30' } });
  }
  const agent = req.headers['user-agent'];
  const session = connection.session(identity, resource.name, { store: ctx.store, application: agent ? agent.slice(0, 128) : null, log: ctx.log });
  return { identity, resource, target: routed.target, session };
}

async function authenticate(req: IncomingMessage, ctx: HttpGatewayContext, connection: ClientConnection): Promise<Identity | Refusal> {
  const credential = callerCredential(req.headers.authorization);
  // A run credential is looked up every time: it stops working the moment its run ends.
  if (typeof credential === 'string' && !isRunCredential(credential)) {
    const cached = connection.cachedIdentity(credential, Date.now());
    if (cached) return cached;
  }
  const result = await authenticateCaller(ctx.authenticator, credential, connection.address, gatewayLog(ctx.log));
  if (!result.ok) {
    const status = result.error.code === 'internal' ? 500 : 401;
    return refusal(status, result.error.code, result.error.message, status === 401 ? { headers: { 'WWW-Authenticate': 'Bearer realm="sluice"' } } : {});
  }
  connection.remember(credential as string, result.value);
  return result.value;
}

/**
 * The caller's credential: `Bearer <token or JWT>`, or HTTP basic auth whose password is one, as
 * clients send for a URL with user info (the SLUICE_<NAME>_URL `sluice run` gives its command).
 */
function callerCredential(header: string | undefined): string | undefined | null {
  const basic = header === undefined ? null : /^Basic[ \t]+([A-Za-z0-9+/=]+)[ \t]*$/i.exec(header);
  if (!basic) return bearerCredential(header);
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : null;
}

/** The engine API's authentication logs as `api ...`; here it is the HTTP gateway speaking. */
function gatewayLog(log: Logger): Logger {
  const rename = (message: string) => message.replace(/^api /, 'http gateway ');
  return { info: (m, f) => log.info(rename(m), f), warn: (m, f) => log.warn(rename(m), f), error: (m, f) => log.error(rename(m), f) };
}
