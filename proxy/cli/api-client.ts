import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import type { ApiInput, ApiMethodName, ApiOutput } from '../api/api-contract.js';
import type { ApiResult } from '../api/api-result.js';
import { isLoopbackHost } from '../common/urls.js';
import { stringOption, type CommandOptions, type ParsedArgs } from './command.js';
import { loadConfigOrReport } from './config-file.js';
import { printable } from '../common/printable.js';
import { UsageError, type CliIo } from './io.js';

// How CLI verbs (approvals, approve, deny) reach a running gateway's engine API: where it is,
// which certificate to trust, which credential to present.

/** The options every API-calling verb takes. */
export const API_CLIENT_OPTIONS: CommandOptions = {
  api: { type: 'string' },
  config: { type: 'string', short: 'c' },
  'token-file': { type: 'string' },
  ca: { type: 'string' },
};

export const API_CLIENT_DETAILS: readonly string[] = [
  'The gateway: --api URL, else $SLUICE_API_URL, else listen.api of the config (--config,',
  'else $SLUICE_CONFIG, else ./sluice.yaml). With the config and `tls: auto`, the CLI trusts',
  "exactly the gateway's self-signed certificate from data_dir/tls; --ca FILE trusts a CA.",
  'The credential: --token-file FILE, else $SLUICE_TOKEN (a static token or an OIDC JWT).',
];

const REQUEST_TIMEOUT_MS = 30_000;

export interface ApiTarget {
  /** Base URL; methods are at <base>/api/v1/<method>. */
  readonly base: URL;
  /** PEM to trust instead of the system CAs. */
  readonly ca?: string;
  /** When set, the server's certificate must be exactly this one (sha256 fingerprint, any hostname). */
  readonly pinnedFingerprint?: string;
  /** Where the pinned certificate came from, for messages. */
  readonly pinnedFrom?: string;
}

/** What the API answered, or why the call failed (already worded for a terminal). */
export class ApiCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApiCallError';
  }
}

/** Where the API is and what to trust; undefined when the config had problems (already printed). */
export async function resolveApiTarget(args: ParsedArgs, io: CliIo): Promise<ApiTarget | undefined> {
  const caFile = stringOption(args, 'ca');
  const ca = caFile === undefined ? undefined : await readCaFile(resolve(io.cwd, caFile));
  const explicit = stringOption(args, 'api') ?? io.env.SLUICE_API_URL;
  if (explicit) {
    const base = parseBase(explicit);
    if (base.protocol === 'http:' && !isLoopbackHost(base.hostname)) io.stderr(`warning: ${base.origin} is plain HTTP: the credential crosses the network unencrypted\n`);
    return { base, ...(ca !== undefined && { ca }) };
  }

  const named = stringOption(args, 'config') ?? io.env.SLUICE_CONFIG;
  const file = resolve(io.cwd, named ?? 'sluice.yaml');
  if (named === undefined && !existsSync(file)) {
    throw new UsageError('no gateway to talk to', 'pass --api URL (from the banner of `sluice serve`), set SLUICE_API_URL, or pass --config FILE');
  }
  const loaded = await loadConfigOrReport(file, io, { resolveSecrets: false });
  if (!loaded) return undefined;
  const listen = loaded.config.listen.api;
  if (!listen) throw new UsageError(`${file} has no listen.api, so its gateway serves no API`, 'add listen.api to it, or pass --api URL');
  if (listen.address.port === 0) throw new UsageError(`listen.api in ${file} has port 0 (any free port)`, 'pass --api URL with the port from the banner of `sluice serve`');
  const host = reachableHost(listen.address.host);
  const scheme = listen.tls === 'off' ? 'http' : 'https';
  const base = new URL(`${scheme}://${host.includes(':') ? `[${host}]` : host}:${listen.address.port}`);
  if (listen.tls !== 'auto' || ca !== undefined) return { base, ...(ca !== undefined && { ca }) };
  // The gateway's own self-signed certificate: trusted exactly, for whatever name reaches it.
  const certFile = join(loaded.config.data_dir, 'tls', 'cert.pem');
  const cert = await readCaFile(certFile, "has `sluice serve` run with this config? Or pass --ca FILE");
  return { base, ca: cert, pinnedFingerprint: new X509Certificate(cert).fingerprint256, pinnedFrom: certFile };
}

/** Calls one method; the value on success, else throws ApiCallError with a one-line reason. */
export async function callApi<N extends ApiMethodName>(target: ApiTarget, credential: string, method: N, input: ApiInput<N>): Promise<ApiOutput<N>> {
  const result = (await post(target, credential, method, input)) as ApiResult<ApiOutput<N>>;
  if (result.ok) return result.value;
  const message = printable(result.error.message);
  switch (result.error.code) {
    case 'unauthenticated':
      throw new ApiCallError(`the gateway refused the credential: ${message}`);
    case 'internal':
      throw new ApiCallError(`the gateway failed: ${message}`);
    default:
      throw new ApiCallError(message);
  }
}

async function post(target: ApiTarget, credential: string, method: string, input: unknown): Promise<ApiResult<unknown>> {
  const url = new URL(`${target.base.pathname.replace(/\/+$/, '')}/api/v1/${method}`, target.base);
  const body = JSON.stringify(input);
  const where = target.base.origin;
  const response = await new Promise<{ status: number; type: string; text: string }>((resolveResponse, reject) => {
    const options = {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: REQUEST_TIMEOUT_MS,
      ...(target.ca !== undefined && { ca: target.ca }),
      ...(target.pinnedFingerprint !== undefined && { checkServerIdentity: pinCheck(target) }),
    };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolveResponse({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const req = url.protocol === 'https:' ? httpsRequest(url, options, onResponse) : httpRequest(url, options, onResponse);
    req.on('timeout', () => req.destroy(new ApiCallError(`the gateway API at ${where} did not answer within ${REQUEST_TIMEOUT_MS / 1000}s`)));
    req.on('error', (error) => reject(describeNetworkError(error, where, target)));
    req.end(body);
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.text);
  } catch {
    parsed = undefined;
  }
  if (!isResult(parsed)) {
    throw new ApiCallError(`${where} did not answer as a Sluice engine API (HTTP ${response.status}${response.type ? `, ${printable(response.type.slice(0, 60))}` : ''}); check --api`);
  }
  return parsed;
}

export function pinCheck(target: ApiTarget) {
  return (_host: string, cert: { fingerprint256: string }): Error | undefined =>
    cert.fingerprint256 === target.pinnedFingerprint
      ? undefined
      : new ApiCallError(`the gateway at ${target.base.origin} presented a certificate (sha256 ${cert.fingerprint256}) that is not the one in ${target.pinnedFrom} (sha256 ${target.pinnedFingerprint}): is it the gateway this config describes?`);
}

export function describeNetworkError(error: Error, where: string, target: ApiTarget): Error {
  if (error instanceof ApiCallError) return error;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT'].includes(code)) {
    return new ApiCallError(`cannot reach the gateway API at ${where} (${code}): is \`sluice serve\` running with listen.api there?`);
  }
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ALTNAME/.test(code)) {
    const hint = target.ca !== undefined ? 'the certificate given does not vouch for it' : 'pass --ca FILE (for `tls: auto`, the gateway\'s data_dir/tls/cert.pem), or --config FILE to trust the gateway\'s own certificate';
    return new ApiCallError(`cannot verify the TLS certificate of ${where} (${code}): ${hint}`);
  }
  if (code === 'EPROTO' || /wrong version number|packet length too long/i.test(error.message)) {
    return new ApiCallError(`TLS with ${where} failed: is it serving plain HTTP (then use http://) or not TLS at all?`);
  }
  return new ApiCallError(`cannot call the gateway API at ${where}: ${printable(error.message)}`);
}

function isResult(value: unknown): value is ApiResult<unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
  if (record.ok === true) return 'value' in record;
  return record.ok === false && typeof record.error?.code === 'string' && typeof record.error.message === 'string';
}

function parseBase(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`the API URL "${printable(text)}" does not parse`, 'pass e.g. --api https://127.0.0.1:7070');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`the API URL must be http:// or https://, not ${url.protocol}`, 'pass e.g. --api https://127.0.0.1:7070');
  if (url.username || url.password) throw new UsageError('the API URL must not hold credentials', 'pass the credential in SLUICE_TOKEN or --token-file');
  // Accept the banner's URL with or without the /api/v1 suffix.
  url.pathname = url.pathname.replace(/\/+$/, '').replace(/\/api\/v1$/, '') || '/';
  url.search = '';
  url.hash = '';
  return url;
}

/** A wildcard bind address is reached on loopback. */
function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

async function readCaFile(file: string, hint = 'pass a readable PEM file'): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`the certificate file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, hint);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${file} holds no PEM certificate`, hint);
  return text;
}
