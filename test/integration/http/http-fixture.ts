import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../proxy/config/load-config.js';
import { startEngine, type Engine } from '../../../proxy/engine/engine.js';
import { createLogger } from '../../../proxy/engine/logger.js';
import { createStaticToken, hashToken } from '../../../proxy/identity/static-tokens.js';

// A real upstream (node:http, in this process) and a real gateway (config file, engine, SQLite
// store) in front of it: what the HTTP gateway's integration tests drive with real clients.

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly rawHeaders: readonly string[];
  readonly body: Buffer;
}

export interface TestUpstream {
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** Every request it received, in order. */
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

export type UpstreamHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

/** An upstream that records each request (body read whole) and answers with `handler`. */
export async function startUpstream(handler: UpstreamHandler): Promise<TestUpstream> {
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, body });
      void Promise.resolve(handler(req, res, body)).catch((error: unknown) => {
        res.statusCode = 500;
        res.end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    seen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** ${env:API_TOKEN} when a test does not choose it. */
export const DEFAULT_SECRET = 'upstream-secret-value-0001';

export interface HttpGatewayOptions {
  /** The `resources:` entries (YAML flow mappings); `${env:API_TOKEN}` resolves to `secret`. */
  readonly resources: readonly string[];
  readonly policy: readonly string[];
  readonly masking?: readonly string[];
  readonly approvals?: string;
  /** Serve the engine API too (plain HTTP, loopback). */
  readonly api?: boolean;
  /** The value of ${env:API_TOKEN} (the credential the gateway injects). */
  readonly secret?: string;
  readonly durability?: 'strict' | 'batched';
  readonly sample?: string;
  /** Extra lines under `listen:`. */
  readonly listen?: readonly string[];
  /** The `limits:` section as a YAML flow mapping. */
  readonly limits?: string;
}

export interface HttpTestGateway {
  readonly engine: Engine;
  /** http://127.0.0.1:PORT of the shared listener. */
  readonly base: string;
  readonly dir: string;
  readonly configFile: string;
  /** Group ci (subject ci-job). */
  readonly token: string;
  /** Group support (subject sam). */
  readonly supportToken: string;
  /** A valid token whose groups open nothing. */
  readonly outsiderToken: string;
  /** Approvers alice and bob. */
  readonly alice: string;
  readonly bob: string;
  readonly logs: string[];
  close(): Promise<void>;
}

export type HttpGatewayFiles = Omit<HttpTestGateway, 'engine' | 'base' | 'logs' | 'close'>;

/** Writes the config (and nothing else) into a fresh directory: for a gateway in another process. */
export async function writeHttpGatewayConfig(options: HttpGatewayOptions): Promise<HttpGatewayFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-http-'));
  await chmod(dir, 0o700);
  const token = createStaticToken().token;
  const supportToken = createStaticToken().token;
  const outsiderToken = createStaticToken().token;
  const alice = createStaticToken().token;
  const bob = createStaticToken().token;
  const configFile = join(dir, 'sluice.yaml');
  await writeFile(
    configFile,
    [
      'data_dir: ./data',
      'listen:',
      '  http: { address: "127.0.0.1:0", tls: off }',
      ...(options.api ? ['  api: { address: "127.0.0.1:0", tls: off }'] : []),
      ...(options.listen ?? []),
      'identity:',
      '  tokens:',
      `    - { name: ci-job, sha256: "${hashToken(token)}", groups: [ci] }`,
      `    - { name: sam, sha256: "${hashToken(supportToken)}", groups: [support] }`,
      `    - { name: outsider, sha256: "${hashToken(outsiderToken)}", groups: [nobody] }`,
      `    - { name: alice, sha256: "${hashToken(alice)}", groups: [approvers] }`,
      `    - { name: bob, sha256: "${hashToken(bob)}", groups: [approvers] }`,
      'resources:',
      ...options.resources.map((resource) => `  - ${resource}`),
      'policy:',
      ...options.policy.map((rule) => `  - ${rule}`),
      ...(options.masking ? ['masking:', ...options.masking.map((rule) => `  - ${rule}`)] : []),
      ...(options.approvals ? [`approvals: ${options.approvals}`] : []),
      ...(options.limits ? [`limits: ${options.limits}`] : []),
      `audit: { durability: ${options.durability ?? 'batched'}${options.sample ? `, result_sample: ${options.sample}` : ''} }`,
      '',
    ].join('\n'),
  );
  return { dir, configFile, token, supportToken, outsiderToken, alice, bob };
}

export async function startHttpTestGateway(options: HttpGatewayOptions): Promise<HttpTestGateway> {
  const files = await writeHttpGatewayConfig(options);
  const { dir, configFile } = files;
  const logs: string[] = [];
  const { config } = await loadConfig(configFile, { env: { API_TOKEN: options.secret ?? DEFAULT_SECRET } });
  const engine = await startEngine(config, { log: createLogger((line) => logs.push(line)), configFile });
  const shared = engine.http!.listeners[0]!;
  return {
    ...files,
    engine,
    base: `http://127.0.0.1:${shared.port}`,
    logs,
    async close() {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Authorization header for a token. */
export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
