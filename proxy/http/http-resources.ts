import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Config, ResourceConfig } from '../config/schema.js';
import type { Secret } from '../config/secret.js';
import { CredentialScrubber } from './credential-scrubber.js';

// Each http resource, ready to forward to: where its upstream is, the connection pool to it (TLS
// verified unless a CA file says whom to trust instead), the credential the gateway injects, and
// every form that credential travels in, so responses can be scrubbed of it.

export type HttpResourceConfig = Extract<ResourceConfig, { type: 'http' }>;
type Listener = NonNullable<Config['listen']['http']>;

/** How the gateway's credential is added to each forwarded request. */
export type Injection =
  | { readonly kind: 'header'; readonly name: string; readonly value: Secret }
  | { readonly kind: 'query'; readonly name: string; readonly value: Secret }
  | { readonly kind: 'basic'; readonly header: string };

export interface HttpResource {
  readonly name: string;
  readonly secure: boolean;
  /** Host name (IPv6 without brackets) and port of the upstream. */
  readonly host: string;
  readonly port: number;
  /** The Host header sent upstream. */
  readonly hostHeader: string;
  /** The upstream URL's path without its trailing slash (`/api/v2`, or empty). */
  readonly basePath: string;
  /** The upstream URL's own query parameters, raw (`tenant=acme`): sent with every request, never overridden by a caller. */
  readonly baseQuery: readonly string[];
  readonly agent: HttpAgent;
  readonly injection: Injection | undefined;
  /** Replaces the credential's forms in what goes back to callers. */
  readonly scrubber: CredentialScrubber;
  readonly bufferLimit: number;
  readonly timeoutMs: number;
  /** Response types passed unmasked to masked callers. */
  readonly passContentType: (type: string) => boolean;
  /** Its own listener, when configured. */
  readonly listen: Listener | undefined;
  /** The upstream for log lines (operators), never for callers: scheme, host and port. */
  readonly origin: string;
}

/** Names the gateway sets itself or that would change how a request is framed: never injected. */
const FORBIDDEN_INJECTED = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'upgrade', 'te', 'trailer', 'keep-alive', 'cookie', 'expect']);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// eslint-disable-next-line no-control-regex -- control characters are what makes a header value unsendable
const BAD_HEADER_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;

/** Every http resource by name. Throws an Error naming the resource and key when one cannot be used. */
export async function httpResources(resources: readonly ResourceConfig[]): Promise<Map<string, HttpResource>> {
  const result = new Map<string, HttpResource>();
  for (const resource of resources) {
    if (resource.type === 'http') result.set(resource.name, await httpResource(resource));
  }
  return result;
}

async function httpResource(resource: HttpResourceConfig): Promise<HttpResource> {
  const url = new URL(resource.upstream);
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : secure ? 443 : 80;
  let ca: string | undefined;
  if (resource.ca !== undefined) {
    if (!secure) throw new Error(`resources "${resource.name}": ca applies to https:// upstreams only`);
    try {
      ca = await readFile(resource.ca, 'utf8');
    } catch (error) {
      throw new Error(`resources "${resource.name}": cannot read its ca file ${resource.ca} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: error });
    }
  }
  // noDelay: a request's head and body go out at once, not held for an ACK (Nagle).
  const poolOptions = { keepAlive: true, maxSockets: 256, maxFreeSockets: 32, scheduling: 'lifo' as const, noDelay: true };
  const agent = secure
    ? // Verified by default: a CA file replaces the system's roots for this upstream, never disables the check.
      new HttpsAgent({ ...poolOptions, rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(ca ? { ca } : {}), servername: isIpAddress(host) ? undefined : host })
    : new HttpAgent(poolOptions);
  const injection = injectionOf(resource);
  return {
    name: resource.name,
    secure,
    host,
    port,
    hostHeader: url.host,
    basePath: url.pathname.replace(/\/+$/, ''),
    baseQuery: url.search.length > 1 ? url.search.slice(1).split('&').filter((pair) => pair !== '') : [],
    agent,
    injection,
    scrubber: new CredentialScrubber(credentialForms(resource)),
    bufferLimit: resource.buffer_limit,
    timeoutMs: resource.timeout,
    passContentType: contentTypeMatcher(resource.pass_content_types),
    listen: resource.listen,
    origin: `${url.protocol}//${url.host}`,
  };
}

function injectionOf(resource: HttpResourceConfig): Injection | undefined {
  const inject = resource.inject;
  if (!inject) return undefined;
  const where = `resources "${resource.name}": inject`;
  if (inject.basic) {
    const { username, password } = inject.basic;
    if (username.includes(':')) throw new Error(`${where}.basic.username: holds ":", which basic auth cannot carry`);
    const header = `Basic ${Buffer.from(`${username}:${password.reveal()}`, 'utf8').toString('base64')}`;
    return { kind: 'basic', header };
  }
  const value = inject.value!;
  if (inject.header !== undefined) {
    if (!HEADER_NAME.test(inject.header)) throw new Error(`${where}.header: "${inject.header}" is not an HTTP header name`);
    if (FORBIDDEN_INJECTED.has(inject.header.toLowerCase())) throw new Error(`${where}.header: the gateway sets ${inject.header} itself; inject the credential in another header`);
    // Never the value in the message: it is the secret.
    if (BAD_HEADER_VALUE.test(value.reveal())) throw new Error(`${where}.value: the secret (${value.source}) holds a line break or control character, so it cannot be sent as a header`);
    return { kind: 'header', name: inject.header, value };
  }
  return { kind: 'query', name: inject.query!, value };
}

/** The credential as configured, each word of it (a token after `Bearer`), URL-encoded, and the basic password. */
function credentialForms(resource: HttpResourceConfig): string[] {
  const inject = resource.inject;
  if (!inject) return [];
  const values: string[] = [];
  if (inject.basic) {
    const password = inject.basic.password.reveal();
    values.push(password, Buffer.from(`${inject.basic.username}:${password}`, 'utf8').toString('base64'));
  } else if (inject.value) {
    const value = inject.value.reveal();
    values.push(value, ...value.split(/\s+/));
  }
  // As sent, URL-encoded (a query parameter an upstream echoes), and JSON-escaped (`/` as `\/`, quotes and backslashes).
  return values.flatMap((value) => [value, encodeURIComponent(value), JSON.stringify(value).slice(1, -1), JSON.stringify(value).slice(1, -1).replace(/\//g, '\\/')]);
}

function contentTypeMatcher(globs: readonly string[]): (type: string) => boolean {
  if (globs.length === 0) return () => false;
  const regex = new RegExp(`^(?:${globs.map((glob) => glob.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[^;]*')).join('|')})$`);
  return (type) => regex.test(type);
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}
