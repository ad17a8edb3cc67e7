import type { IncomingMessage, ServerResponse } from 'node:http';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { authenticateCaller, bearerCredential } from '../api/api-auth.js';
import { isLoopbackHost } from '../common/urls.js';
import type { Logger } from '../engine/logger.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { Identity } from '../identity/identity.js';
import type { McpService, ServedSession } from './mcp-service.js';

// Streamable HTTP at /mcp on the api listener. Every request is authenticated (bearer token or
// OIDC JWT); an MCP session (Mcp-Session-Id) belongs to the identity that opened it, and a request
// for it with another identity is refused. Refusals are JSON with `WWW-Authenticate` on 401.

export const MCP_PATH = '/mcp';

/** Largest JSON-RPC request body read (a query's SQL and params, an HTTP body). */
const MAX_BODY = 2 * 1024 * 1024;

export interface McpHttpEndpoint {
  handle(request: IncomingMessage, response: ServerResponse): void;
  close(): Promise<void>;
}

export function mcpHttpEndpoint(service: McpService, authenticator: Authenticator, log: Logger): McpHttpEndpoint {
  const byId = new Map<string, ServedSession>();

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const client = `${request.socket.remoteAddress ?? 'unknown'}:${request.socket.remotePort ?? 0}`;
    const rebound = reboundHost(request);
    if (rebound !== undefined) {
      log.warn('mcp request refused: not addressed to this host', { client, host: rebound.slice(0, 200) });
      return refuse(response, 403, 'forbidden', 'this request names another host than the gateway it reached (DNS rebinding?); use the gateway\'s own address');
    }
    const auth = await authenticateCaller(authenticator, bearerCredential(request.headers.authorization), client, log);
    if (!auth.ok) return refuse(response, auth.error.code === 'internal' ? 500 : 401, auth.error.code, auth.error.message);
    const identity = auth.value;
    const header = request.headers['mcp-session-id'];
    const sessionId = Array.isArray(header) ? header[0] : header;
    if (sessionId !== undefined) {
      const served = byId.get(sessionId);
      // Someone else's session looks like none: ids are not for guessing.
      if (!served || served.session.closed) return refuse(response, 404, 'not_found', 'no such MCP session (it ended or expired): start a new one with initialize', -32001);
      if (!sameCaller(served.session.identity, identity)) {
        log.warn('mcp session refused: another identity', { client, subject: identity.subject });
        return refuse(response, 403, 'forbidden', 'this MCP session belongs to another identity: start your own with initialize');
      }
      served.session.lastUsed = Date.now();
      return (served.transport as StreamableHTTPServerTransport).handleRequest(request, response);
    }
    if (request.method !== 'POST') return refuse(response, 400, 'bad_request', 'no Mcp-Session-Id: start a session by POSTing initialize');
    if (service.full) return refuse(response, 503, 'internal', 'too many MCP sessions are open; try again later');
    // The transport asks for the id during initialize, after serve() made the session.
    const holder: { served?: ServedSession } = {};
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => holder.served!.session.id,
      onsessioninitialized: (id) => {
        if (holder.served) byId.set(id, holder.served);
      },
      onsessionclosed: (id) => {
        byId.delete(id);
      },
      maxRequestBodySize: MAX_BODY,
    });
    const opened = await service.serve(identity, { address: client, application: userAgent(request) }, transport);
    holder.served = opened;
    const sdkClose = transport.onclose;
    transport.onclose = () => {
      byId.delete(opened.session.id);
      sdkClose?.();
    };
    await transport.handleRequest(request, response);
    // Not an initialize: no session came of it.
    if (transport.sessionId === undefined) await transport.close();
  }

  return {
    handle(request, response) {
      handle(request, response).catch((error: unknown) => {
        log.error('mcp request failed', { reason: error instanceof Error ? error.message : String(error) });
        if (!response.headersSent) refuse(response, 500, 'internal', 'the MCP request failed; the gateway log has the detail');
        else response.destroy();
      });
    },
    async close() {
      byId.clear();
      await service.close();
    },
  };
}

/**
 * DNS rebinding: a web page on another name reaching a gateway on this computer. On a loopback
 * connection the Host (and an Origin, when a browser sends one) must be a loopback name; the
 * offending value, or undefined when the request is fine. Bearer tokens already keep such a page
 * out (it has none); this refuses it before anything else runs.
 */
function reboundHost(request: IncomingMessage): string | undefined {
  if (!isLoopbackHost((request.socket.localAddress ?? '').replace(/^::ffff:/, ''))) return undefined;
  const host = request.headers.host ?? '';
  if (!isLoopbackName(hostnameOf(`http://${host}`))) return host;
  const origin = request.headers.origin;
  if (origin !== undefined && origin !== 'null' && !isLoopbackName(hostnameOf(origin))) return origin;
  return undefined;
}

function hostnameOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || isLoopbackHost(hostname);
}

function sameCaller(a: Identity, b: Identity): boolean {
  return a.subject === b.subject && a.issuer === b.issuer && a.run === b.run;
}

function userAgent(request: IncomingMessage): string | null {
  const agent = request.headers['user-agent'];
  return agent ? agent.slice(0, 200) : null;
}

/** A JSON-RPC error (what MCP clients read) whose `data.code` is the engine API's error code. */
function refuse(response: ServerResponse, status: number, code: string, message: string, rpcCode = -32000): void {
  const body = JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: rpcCode, message, data: { code } } });
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...(status === 401 && { 'www-authenticate': 'Bearer realm="sluice"' }),
  });
  response.end(body);
}
