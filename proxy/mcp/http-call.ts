import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

// The `http_request` tool's data path: a request to the engine's own HTTP listener for the
// resource, with the MCP session's credential as the bearer token. Policy, credential injection,
// response masking, approvals and audit all happen there; this only carries the request and
// keeps the (already masked) answer within the size cap.

export interface HttpEndpoint {
  readonly host: string;
  readonly port: number;
  readonly secure: boolean;
  /** `/r/NAME` on the shared listener, '' on a resource's own. */
  readonly path: string;
}

export interface HttpCallInput {
  readonly method: string;
  /** Starts with `/`: the path (and query) below the resource's root. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
}

export interface HttpCallResult {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly truncated: boolean;
}

/** Most characters of a response body kept. */
export const MAX_BODY_CHARS = 64 * 1024;

/** Response headers an agent gets (others are transport detail). */
const KEPT_HEADERS = ['content-type', 'content-length', 'location', 'retry-after', 'x-sluice-approval'];

/** Request headers an agent may not set: the gateway's credential and the transport's own. */
const REFUSED_HEADERS = /^(authorization|proxy-authorization|cookie|host|content-length|transfer-encoding|connection|upgrade|te|trailer|keep-alive)$/i;

export function refusedHeader(headers: Readonly<Record<string, string>>): string | undefined {
  return Object.keys(headers).find((name) => REFUSED_HEADERS.test(name));
}

export function callHttp(endpoint: HttpEndpoint, credential: string, input: HttpCallInput, signal?: AbortSignal): Promise<HttpCallResult> {
  const send = endpoint.secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      {
        host: endpoint.host,
        port: endpoint.port,
        method: input.method,
        path: `${endpoint.path}${input.path}`,
        headers: { ...input.headers, authorization: `Bearer ${credential}`, 'user-agent': 'sluice-mcp' },
        // Our own listener on this host: encrypted, its self-signed certificate not pinned here.
        ...(endpoint.secure && { rejectUnauthorized: false }),
        agent: false,
        ...(signal && { signal }),
      },
      (res) => {
        let body = '';
        let truncated = false;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length + chunk.length > MAX_BODY_CHARS) {
            body += chunk.slice(0, MAX_BODY_CHARS - body.length);
            truncated = true;
            res.destroy();
            resolve({ status: res.statusCode ?? 0, headers: kept(res.headers), body, truncated });
            return;
          }
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: kept(res.headers), body, truncated }));
        res.on('error', (error) => (truncated ? undefined : reject(error)));
      },
    );
    req.on('error', reject);
    req.end(input.body);
  });
}

function kept(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}
