import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../../proxy/config/load-config.js';
import { startEngine, type Engine } from '../../proxy/engine/engine.js';
import { createLogger } from '../../proxy/engine/logger.js';
import { createStaticToken, hashToken } from '../../proxy/identity/static-tokens.js';
import type { TestDatabase } from './postgres.js';

export interface TestGateway {
  readonly engine: Engine;
  readonly host: string;
  readonly port: number;
  readonly dir: string;
  readonly configFile: string;
  /** The caller token (group `ci`, subject `ci-job`). */
  readonly token: string;
  /** A token of subject `dba-dave` in groups `dba` and `admins` (the engine API's admin methods). */
  readonly dbaToken: string;
  /** Tokens of approvers alice and bob (group `approvers`) and auditor carol (group `auditors`). */
  readonly staff: GatewayStaff;
  /** A valid token whose groups open no resource. */
  readonly outsiderToken: string;
  /** The resource name in front of the test database. */
  readonly resource: string;
  /** Everything the gateway logged. */
  readonly logs: string[];
  /** node-postgres settings that reach the test database through the gateway. */
  clientConfig(overrides?: pg.ClientConfig): pg.ClientConfig;
  /** A libpq URL (psql, pgbench); the token goes in PGPASSWORD. */
  readonly url: string;
  connect(overrides?: pg.ClientConfig): Promise<pg.Client>;
  close(): Promise<void>;
}

export interface TestGatewayOptions {
  /** Extra YAML appended under `listen:` (e.g. "  allow_cleartext_without_tls: true"). */
  readonly tls?: 'auto' | 'off';
  /** Password the gateway holds for the upstream (default: the test database's). */
  readonly upstreamPassword?: string;
  /** Override the upstream address (e.g. a tap proxy in front of PostgreSQL). */
  readonly upstream?: { readonly host: string; readonly port: number };
  readonly durability?: 'strict' | 'batched';
  /** Upstream login user (default: the test database's owner). */
  readonly upstreamUser?: string;
  /** Listener address (default 127.0.0.1). */
  readonly listenHost?: string;
  /** Upstream database name (default: the test database's); another gateway's resource when chaining. */
  readonly upstreamDatabase?: string;
  /** Upstream TLS (default disable) and the CA file for verify-full. */
  readonly sslmode?: 'disable' | 'require' | 'verify-full';
  readonly ca?: string;
  /** An OIDC issuer whose tokens get the group `ci` (audience "sluice"). */
  readonly oidcIssuer?: string;
  /**
   * Policy rules, one YAML flow mapping per entry. Default: `ci-all`, which lets group ci run
   * anything on the test resource (every flag listed).
   */
  readonly policy?: readonly string[];
  /** The `approvals:` section as a YAML flow mapping (e.g. "{ timeout: 2s, quorum: 2 }"). */
  readonly approvals?: string;
  /** Serve the engine API on a free loopback port (plain HTTP). */
  readonly api?: boolean;
  /** Masking rules, one YAML flow mapping per entry. */
  readonly masking?: readonly string[];
  /** `audit.result_sample` as a YAML flow mapping (e.g. "{ rows: 2, bytes: 1KB }"). */
  readonly resultSample?: string;
  /** The `limits:` section as a YAML flow mapping (e.g. "{ rows_per_statement: 1000 }"). */
  readonly limits?: string;
  /** A postgres:// URL (password included) for `audit.store`: written to a file and referenced as ${file:…}. */
  readonly auditStoreUrl?: string;
  /** The built web console to serve on the api listener (test/e2e builds one per run). */
  readonly consoleDir?: string;
}

export interface GatewayStaff {
  readonly alice: string;
  readonly bob: string;
  readonly carol: string;
}

const ALL_FLAGS = '[no_where, cte_write, select_into, copy_program, dangerous_function, unknown_function, set_role, explain_analyze, full_scan]';

export interface GatewayConfigFile {
  readonly dir: string;
  readonly configFile: string;
  readonly token: string;
  readonly dbaToken: string;
  readonly outsiderToken: string;
  readonly staff: GatewayStaff;
  readonly resource: string;
}

/**
 * Writes a gateway config in front of a test database into a fresh directory. The upstream
 * password lives in a file referenced as ${file:…}, as an operator would configure it.
 */
export async function writeGatewayConfig(db: TestDatabase, options: TestGatewayOptions = {}): Promise<GatewayConfigFile> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-gw-'));
  await chmod(dir, 0o700);
  const { token } = createStaticToken();
  const outsiderToken = createStaticToken().token;
  const dbaToken = createStaticToken().token;
  const staff: GatewayStaff = { alice: createStaticToken().token, bob: createStaticToken().token, carol: createStaticToken().token };
  const policy = options.policy ?? [`{ name: ci-all, match: { groups: [ci], resources: [testdb], flags: ${ALL_FLAGS} }, effect: allow }`];
  await writeFile(join(dir, 'upstream-password'), options.upstreamPassword ?? db.password, { mode: 0o600 });
  if (options.auditStoreUrl) await writeFile(join(dir, 'audit-store-url'), options.auditStoreUrl, { mode: 0o600 });
  const upstream = options.upstream ?? { host: db.host, port: db.port };
  const resource = 'testdb';
  const configFile = join(dir, 'sluice.yaml');
  await writeFile(
    configFile,
    [
      'data_dir: ./data',
      'listen:',
      `  postgres: { address: "${options.listenHost ?? '127.0.0.1'}:0", tls: ${options.tls ?? 'auto'} }`,
      ...(options.api ? ['  api: { address: "127.0.0.1:0", tls: off }'] : []),
      'identity:',
      ...(options.oidcIssuer ? ['  oidc:', `    - { issuer: "${options.oidcIssuer}", audience: sluice, groups: [ci, "repo:{repository}"] }`] : []),
      '  tokens:',
      `    - { name: ci-job, sha256: "${hashToken(token)}", groups: [ci] }`,
      `    - { name: outsider, sha256: "${hashToken(outsiderToken)}", groups: [nobody] }`,
      `    - { name: dba-dave, sha256: "${hashToken(dbaToken)}", groups: [dba, admins] }`,
      `    - { name: alice, sha256: "${hashToken(staff.alice)}", groups: [approvers] }`,
      `    - { name: bob, sha256: "${hashToken(staff.bob)}", groups: [approvers] }`,
      `    - { name: carol, sha256: "${hashToken(staff.carol)}", groups: [auditors] }`,
      'resources:',
      `  - name: ${resource}`,
      '    type: postgres',
      `    upstream: postgres://${options.upstreamUser ?? db.user}@${upstream.host}:${upstream.port}/${options.upstreamDatabase ?? db.database}`,
      '    password: ${file:upstream-password}',
      `    sslmode: ${options.sslmode ?? 'disable'}`,
      ...(options.ca ? [`    ca: ${options.ca}`] : []),
      `  - name: other-db`,
      '    type: postgres',
      `    upstream: postgres://${db.user}@${upstream.host}:${upstream.port}/${db.database}`,
      '    password: ${file:upstream-password}',
      'policy:',
      ...policy.map((rule) => `  - ${rule}`),
      ...(options.approvals ? [`approvals: ${options.approvals}`] : []),
      ...(options.limits ? [`limits: ${options.limits}`] : []),
      ...(options.masking ? ['masking:', ...options.masking.map((rule) => `  - ${rule}`)] : []),
      `audit: { durability: ${options.durability ?? 'batched'}${options.resultSample ? `, result_sample: ${options.resultSample}` : ''}${options.auditStoreUrl ? ', store: "${file:audit-store-url}"' : ''} }`,
      '',
    ].join('\n'),
  );
  return { dir, configFile, token, dbaToken, outsiderToken, staff, resource };
}

/** A real gateway (config file, engine, SQLite store) in front of a test database, in this process. */
export async function startTestGateway(db: TestDatabase, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const { dir, configFile, token, dbaToken, outsiderToken, staff, resource } = await writeGatewayConfig(db, options);
  const logs: string[] = [];
  const { config } = await loadConfig(configFile, { env: {} });
  const engine = await startEngine(config, { log: createLogger((line) => logs.push(line)), configFile, env: {}, ...(options.consoleDir !== undefined && { consoleDir: options.consoleDir }) });
  const listener = engine.postgres!;
  const host = listener.host === '0.0.0.0' ? '127.0.0.1' : listener.host;
  const clientConfig = (overrides: pg.ClientConfig = {}): pg.ClientConfig => ({
    host,
    port: listener.port,
    user: 'ci',
    password: token,
    database: resource,
    ...overrides,
  });
  return {
    engine,
    host,
    port: listener.port,
    dir,
    configFile,
    token,
    dbaToken,
    outsiderToken,
    staff,
    resource,
    logs,
    clientConfig,
    url: `postgres://ci@${host}:${listener.port}/${resource}`,
    async connect(overrides) {
      const client = new pg.Client(clientConfig(overrides));
      await client.connect();
      return client;
    },
    async close() {
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A password no test could guess or find by accident: the canary searched for in every output. */
export function canaryPassword(): string {
  return `canary-${randomBytes(12).toString('hex')}`;
}
