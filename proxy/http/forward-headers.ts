import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { HttpResource } from './http-resources.js';

// Headers on the way through. Requests: the caller's credential and everything that frames or
// routes the hop (hop-by-hop headers, Host, Forwarded, Expect, Content-Length) are dropped, the
// gateway's credential is injected, Accept-Encoding is narrowed to codings the gateway can
// decode. Responses: hop-by-hop headers and whatever the body's new framing makes false are
// dropped, and upstream URLs in Location are turned into gateway paths.

/** RFC 9110 7.6.1 and the de-facto ones: meaningful for one connection only. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate', 'http2-settings']);

/** The caller's credential, routing the caller may not forge, and framing the gateway sets itself. */
const DROPPED_REQUEST = new Set([
  'host',
  'authorization',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-real-ip',
  'x-original-url',
  'x-rewrite-url',
  'expect',
  'content-length',
  'accept-encoding',
]);

/** Headers that describe the exact bytes of a body: false once the body is masked. */
const BODY_DIGESTS = new Set(['content-length', 'content-md5', 'digest', 'content-digest', 'repr-digest', 'etag']);

/** What the gateway can decode (content-coding.ts). */
export const DECODABLE_CODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'identity']);

export interface RequestHeaderOptions {
  readonly resource: HttpResource;
  /** Body length when the gateway knows it (a buffered body), else the caller's Content-Length when it sent one. */
  readonly contentLength: number | undefined;
  /**
   * A body of unknown length streams: sent chunked, always. Node frames a GET, HEAD, DELETE or
   * OPTIONS body with nothing by default, so its bytes would reach the upstream as a request.
   */
  readonly chunked?: boolean;
  /** The response will be masked: partial responses (Range) are not asked for. */
  readonly masking: boolean;
  /** For a WebSocket upgrade: keep the handshake headers (extensions dropped: frames stay readable). */
  readonly websocket?: boolean;
}

/** The headers sent upstream for a caller's request (`rawHeaders`: name, value, name, value, ...). */
export function upstreamRequestHeaders(rawHeaders: readonly string[], options: RequestHeaderOptions): OutgoingHttpHeaders {
  const { resource } = options;
  const listed = connectionListed(rawHeaders);
  const injected = resource.injection?.kind === 'header' ? resource.injection.name.toLowerCase() : undefined;
  const headers: Record<string, string | string[]> = {};
  const names = new Map<string, string>();
  let acceptEncoding: string | undefined;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const value = rawHeaders[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === 'accept-encoding') acceptEncoding = acceptEncoding === undefined ? value : `${acceptEncoding}, ${value}`;
    if (HOP_BY_HOP.has(lower) || DROPPED_REQUEST.has(lower) || listed.has(lower) || lower === injected || lower.startsWith('sluice-')) continue;
    if (options.masking && (lower === 'range' || lower === 'if-range')) continue;
    if (options.websocket && lower === 'sec-websocket-extensions') continue;
    add(headers, names, name, value);
  }
  headers.Host = resource.hostHeader;
  if (options.contentLength !== undefined) headers['Content-Length'] = String(options.contentLength);
  else if (options.chunked) headers['Transfer-Encoding'] = 'chunked';
  const codings = acceptEncoding === undefined ? undefined : decodableCodings(acceptEncoding);
  if (codings) headers['Accept-Encoding'] = codings;
  if (options.websocket) {
    headers.Connection = 'Upgrade';
    headers.Upgrade = 'websocket';
  }
  const injection = resource.injection;
  if (injection?.kind === 'header') headers[injection.name] = injection.value.reveal();
  else if (injection?.kind === 'basic') headers.Authorization = injection.header;
  return headers;
}

/** The path and query sent upstream: the resource's base path, its own query parameters, the caller's, then the injected one. */
export function upstreamPath(resource: HttpResource, path: string, query: string | undefined): string {
  const injection = resource.injection;
  const fixed = new Set(resource.baseQuery.map(parameterName));
  if (injection?.kind === 'query') fixed.add(injection.name.toLowerCase());
  // A caller's parameter of a name the gateway sets would compete with it (parameter pollution): dropped.
  const callers = query === undefined ? [] : query.split('&').filter((pair) => pair !== '' && !fixed.has(parameterName(pair)));
  const pairs = [...resource.baseQuery, ...callers];
  if (injection?.kind === 'query') pairs.push(`${encodeURIComponent(injection.name)}=${encodeURIComponent(injection.value.reveal())}`);
  const joined = `${resource.basePath}${path}`;
  return pairs.length > 0 || query !== undefined ? `${joined}?${pairs.join('&')}` : joined;
}

export interface ResponseHeaderOptions {
  readonly resource: HttpResource;
  /** The body will be rewritten (masked): its length, digests and validators are dropped. */
  readonly rewritten: boolean;
  /** The Content-Encoding the client gets, when it differs from the upstream's (`undefined` keeps it, `null` drops it). */
  readonly contentEncoding?: string | null;
  /** The gateway path the resource is reached at (`/r/billing`, or empty on its own listener). */
  readonly prefix: string;
  /** Masks one header value for the caller (content detectors and the credential scrub). */
  readonly maskValue: (value: string) => string;
  /** For a 101 answer to a WebSocket upgrade: keep Upgrade and Connection. */
  readonly upgrade?: boolean;
}

/** The caller's response headers as a flat [name, value, ...] list (duplicates such as Set-Cookie kept). */
export function clientResponseHeaders(rawHeaders: readonly string[], options: ResponseHeaderOptions): string[] {
  const listed = connectionListed(rawHeaders);
  const headers: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (options.upgrade && (lower === 'upgrade' || lower === 'connection')) {
      headers.push(name, rawHeaders[i + 1]!);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || listed.has(lower)) continue;
    if (options.rewritten && BODY_DIGESTS.has(lower)) continue;
    if (lower === 'content-encoding' && options.contentEncoding !== undefined) continue;
    // Alternative services point the client at the upstream directly (HTTP/3), around the gateway.
    if (lower === 'alt-svc' || lower.startsWith('sluice-')) continue;
    let value = rawHeaders[i + 1]!;
    if (lower === 'location' || lower === 'content-location') value = gatewayLocation(value, options.resource, options.prefix);
    // Pagination links (`<https://upstream/items?page=2>; rel="next"`) too.
    else if (lower === 'link') value = value.replace(/<([^>]*)>/g, (_, url: string) => `<${gatewayLocation(url, options.resource, options.prefix)}>`);
    headers.push(name, options.maskValue(value));
  }
  if (options.contentEncoding) headers.push('Content-Encoding', options.contentEncoding);
  return headers;
}

/** The header's value, or every value joined (as HTTP folds them). */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * An upstream URL in a Location header turned into the gateway path that reaches it, so a
 * redirect neither names the upstream nor sends the caller around the gateway. Other URLs stay.
 */
function gatewayLocation(value: string, resource: HttpResource, prefix: string): string {
  let url: URL;
  try {
    url = new URL(value, `${resource.secure ? 'https' : 'http'}://${resource.hostHeader}${resource.basePath}/`);
  } catch {
    return value;
  }
  const sameOrigin = url.protocol === (resource.secure ? 'https:' : 'http:') && url.host.toLowerCase() === resource.hostHeader.toLowerCase();
  if (!sameOrigin) return value;
  const absolute = /^[a-z][a-z0-9+.-]*:/i.test(value) || value.startsWith('//');
  const underBase = resource.basePath === '' || url.pathname === resource.basePath || url.pathname.startsWith(`${resource.basePath}/`);
  if (!underBase) return absolute ? `${prefix}/` : value;
  if (!absolute && !value.startsWith('/')) return value;
  return `${prefix}${url.pathname.slice(resource.basePath.length) || '/'}${url.search}${url.hash}`;
}

/** Header names listed in Connection: hop-by-hop for this message (RFC 9110 7.6.1). */
function connectionListed(rawHeaders: readonly string[]): Set<string> {
  const listed = new Set<string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]!.toLowerCase() !== 'connection') continue;
    for (const token of rawHeaders[i + 1]!.split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '' && name !== 'close' && name !== 'keep-alive') listed.add(name);
    }
  }
  return listed;
}

/** The codings of an Accept-Encoding the gateway can decode, in the caller's order, or undefined when none. */
function decodableCodings(value: string): string | undefined {
  const kept: string[] = [];
  for (const item of value.split(',')) {
    const coding = item.split(';')[0]!.trim().toLowerCase();
    if (coding === '*') kept.push(...['gzip', 'deflate', 'br'].map((known) => `${known}${item.slice(item.indexOf(';') === -1 ? item.length : item.indexOf(';'))}`));
    else if (DECODABLE_CODINGS.has(coding)) kept.push(item.trim());
  }
  return kept.length > 0 ? kept.join(', ') : undefined;
}

function add(headers: Record<string, string | string[]>, names: Map<string, string>, name: string, value: string): void {
  const lower = name.toLowerCase();
  const existing = names.get(lower);
  if (existing === undefined) {
    names.set(lower, name);
    headers[name] = value;
    return;
  }
  const current = headers[existing]!;
  headers[existing] = Array.isArray(current) ? [...current, value] : [current, value];
}

/** A query parameter's name, decoded and lower-cased, for comparing. */
function parameterName(pair: string): string {
  const name = pair.split('=')[0]!.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name).toLowerCase();
  } catch {
    return name.toLowerCase();
  }
}
