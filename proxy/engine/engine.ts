import { chmod, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { ApiServices } from '../api/api-contract.js';
import { startApiListener, type ApiListener } from '../api/api-server.js';
import { createApprovalBroker } from '../approvals/approval-broker.js';
import type { ApprovalBroker } from '../approvals/approval-types.js';
import { openSharedApprovalBroker } from '../approvals/postgres/shared-approval-broker.js';
import { openAuditStore } from '../audit/audit-store.js';
import { openPostgresAuditStore } from '../audit/postgres/postgres-store.js';
import { publicKeyLine } from '../common/checkpoint-verify.js';
import { Secret } from '../config/secret.js';
import { loadOrCreateSigningKey } from '../audit/signing-key.js';
import type { AuditStore } from '../audit/audit-types.js';
import type { Config } from '../config/schema.js';
import { Authenticator, type AuthenticatorOptions } from '../identity/authenticator.js';
import { startHttpGateway, type HttpGateway } from '../http/http-gateway.js';
import { CancelRegistry } from '../postgres/cancel-registry.js';
import { CLIENT_LIMITS, UPSTREAM_LIMITS } from '../postgres/message-reader.js';
import { startPostgresListener, type PostgresListener } from '../postgres/postgres-listener.js';
import { loadConfiguredTls, loadOrCreateSelfSigned, type TlsMaterial } from '../postgres/tls-material.js';
import { explainSql } from '../policy/explain-sql.js';
import { PolicyEngine } from '../policy/policy-engine.js';
import { SqlClassifier } from '../sql/sql-classifier.js';
import { loadSqlParser } from '../sql/sql-parser.js';
import { createCatalogCache } from '../masking/catalog-cache.js';
import type { CatalogCache } from '../masking/catalog-types.js';
import { loadOrCreateMaskingKey } from '../masking/masking-key.js';
import { MaskingRules } from '../masking/masking-rules.js';
import { CatalogConnection } from '../postgres/catalog-connection.js';
import type { UpstreamTarget } from '../postgres/upstream-connect.js';
import type { Logger } from './logger.js';
import { lockDataDir } from './data-dir-lock.js';
import { maskingPreviewService } from './masking-preview-service.js';
import { maskingConfigService } from './masking-config-service.js';
import { policyView } from './policy-view.js';
import { defaultConsoleDir } from '../api/console-files.js';
import { EngineEvents } from './engine-events.js';
import { observedStore } from './observed-store.js';
import { upstreamTargets } from './upstream-targets.js';
import type { Identity } from '../identity/identity.js';
import { RunCredentials } from '../identity/run-credentials.js';
import { RunService } from '../run/run-service.js';
import { runEndpoints } from '../run/run-endpoints.js';
import { ExecGateway } from '../exec/exec-session.js';
import { EXEC_PATH } from '../exec/exec-protocol.js';
import { execSocketEndpoint } from '../exec/exec-socket.js';
import { heldSecrets } from '../exec/held-secrets.js';
import type { ExecResourceConfig } from '../exec/exec-launch.js';
import { McpService } from '../mcp/mcp-service.js';
import { MCP_PATH, mcpHttpEndpoint } from '../mcp/mcp-http.js';

export interface EngineOptions extends AuthenticatorOptions {
  readonly log: Logger;
  /** The config file the engine was started from: the masking rule editor writes to it. Without it, rules cannot be saved from the API. */
  readonly configFile?: string;
  /** The built web console served on the api listener (default: dist/console in the package). */
  readonly consoleDir?: string;
  /** The environment the config's `${env:X}` references resolve in (default: this process's), for the rule editor's validation. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A running gateway: its listeners and audit store, one `close()` to stop it all. */
export interface Engine {
  readonly postgres: PostgresListener | undefined;
  /** The HTTP API gateway's listeners (listen.http, resources' own `listen`); undefined when none is configured. */
  readonly http: HttpGateway | undefined;
  readonly store: AuditStore;
  readonly approvals: ApprovalBroker;
  readonly policy: PolicyEngine;
  readonly classifier: SqlClassifier;
  /** What the engine API tells subscribers: approvals requested and decided, sessions and their events. */
  readonly events: EngineEvents;
  /** How the PostgreSQL listener answers SSLRequest, for the startup banner. */
  readonly postgresTls: { readonly mode: 'off' | 'configured' | 'generated' | 'reused'; readonly fingerprint256?: string };
  /** The engine API listener (listen.api), for the banner; undefined when not configured. */
  readonly api: { readonly url: string; readonly tls: Engine['postgresTls'] } | undefined;
  /** Command sessions of exec resources (`sluice exec`, over the api listener); undefined without exec resources or listen.api. */
  readonly exec: ExecGateway | undefined;
  /** The MCP gateway: Streamable HTTP at /mcp on the api listener, and `sluice mcp --config` over stdio in this process. */
  readonly mcp: McpService;
  /** What the engine API's methods run on, for transports other than the api listener (the desktop app's IPC). */
  readonly apiServices: ApiServices;
  /** Who a credential stands for, as every listener checks it (an in-process caller: an embedded `sluice run`). */
  authenticate(credential: string): Promise<Identity>;
  close(): Promise<void>;
}

/** Starts what the config describes. Throws an Error naming the config key when something cannot start. */
export async function startEngine(config: Config, options: EngineOptions): Promise<Engine> {
  const { log } = options;
  // The parser is WASM: compiled once, before any session needs it.
  await loadSqlParser();
  const classifier = new SqlClassifier({ dangerousFunctions: config.sql.dangerous_functions, fullScanTables: config.limits.full_scan_tables });
  const policy = new PolicyEngine(config);
  const events = new EngineEvents();
  await mkdir(config.data_dir, { recursive: true, mode: 0o700 });
  await chmod(config.data_dir, 0o700);
  const targets = await upstreamTargets(config.resources);
  const lock = await lockDataDir(config.data_dir);
  const maskingKey = await loadOrCreateMaskingKey(config.data_dir);
  // Mutable: the rule editor swaps `rules`; sessions read it when they start.
  let maskingInForce: Config['masking'] = config.masking;
  const masking: { rules: MaskingRules; readonly catalogs: Map<string, CatalogCache>; readonly sample: typeof config.audit.result_sample } = {
    rules: new MaskingRules(config.masking, maskingKey),
    catalogs: catalogCaches(targets),
    sample: config.audit.result_sample,
  };

  let postgres: PostgresListener | undefined;
  let http: HttpGateway | undefined;
  // Checkpoints sign the ledger's head: periodically, and once more at shutdown. In a shared
  // store the key's id is also this gateway's id.
  const signer = await loadOrCreateSigningKey(config.data_dir).catch(async (error: unknown) => {
    await lock.release();
    throw error;
  });
  const sharedStore = config.audit.store === 'sqlite' ? undefined : config.audit.store instanceof Secret ? config.audit.store.reveal() : config.audit.store;
  const rawStore = await (sharedStore
    ? openPostgresAuditStore({
        connectionString: sharedStore,
        durability: config.audit.durability,
        gateway: { id: signer.kid, name: `${hostname()}:${resolve(config.data_dir)}`, publicKey: publicKeyLine(signer.publicJwk) },
        // Records lost: the store's `failure` refuses statements while it cannot record (statement-gate.ts).
        onError: (error) => log.error('audit store: records lost', { reason: error.message }),
      })
    : openAuditStore({
        dataDir: config.data_dir,
        durability: config.audit.durability,
        onError: (error) => {
          // Fail closed: sessions the store cannot record must not go on, and new logins are refused
          // (client-session checks store.failure) until an operator restarts the gateway.
          log.error('audit store write failed; ending all sessions', { reason: error.message });
          postgres?.endSessions('the audit store is failing, so Sluice ends sessions it cannot record', '58030');
        },
      })
  ).catch(async (error: unknown) => {
    await lock.release();
    throw sharedStore ? new Error(`audit.store: ${(error as Error).message}`, { cause: error }) : error;
  });
  const store = observedStore(rawStore, events);
  const checkpoint = () =>
    store.checkpoint(signer).catch((error: unknown) => log.error('audit checkpoint failed', { reason: (error as Error).message }));
  const checkpoints = setInterval(() => void checkpoint(), config.audit.checkpoint_interval);
  checkpoints.unref();
  // Retention: sessions that ended more than audit.retention ago are removed, at start and hourly.
  const prune = () =>
    store
      .prune(Date.now() - config.audit.retention, signer)
      .then((removed) => removed > 0 && log.info('audit retention removed sessions', { sessions: removed, retention_days: Math.round(config.audit.retention / 86_400_000) }))
      .catch((error: unknown) => log.error('audit retention failed', { reason: (error as Error).message }));
  await prune();
  const pruning = setInterval(() => void prune(), 3_600_000);
  pruning.unref();
  const brokerOptions = { timeoutMs: config.approvals.timeout, quorum: config.approvals.quorum, selfApproval: config.approvals.self_approval };
  // A shared store is also the approval queue every gateway on it answers from.
  const shared = sharedStore
    ? await openSharedApprovalBroker({ ...brokerOptions, connectionString: sharedStore, gatewayId: signer.kid }).catch(async (error: unknown) => {
        clearInterval(checkpoints);
        clearInterval(pruning);
        await store.close();
        await lock.release();
        throw new Error(`audit.store: the shared approval queue cannot be opened: ${(error as Error).message}`, { cause: error });
      })
    : undefined;
  const approvals: ApprovalBroker = shared ?? createApprovalBroker(brokerOptions);
  // Decided approvals in a shared queue follow audit.retention too (the in-memory broker keeps a bounded history).
  const pruneApprovals = () =>
    shared
      ?.prune(Date.now() - config.audit.retention)
      .then((removed) => removed > 0 && log.info('audit retention removed decided approvals', { approvals: removed }))
      .catch((error: unknown) => log.error('approval retention failed', { reason: (error as Error).message }));
  await pruneApprovals();
  const approvalPruning = setInterval(() => void pruneApprovals(), 3_600_000);
  approvalPruning.unref();
  approvals.on('requested', (approval) => events.emit('approval.requested', approval));
  approvals.on('decided', (approval) => events.emit('approval.decided', approval));

  // One authenticator for every listener: one JWKS cache per issuer.
  // `sluice run` session credentials are known to this engine only, for as long as their runs.
  const runCredentials = new RunCredentials();
  const authenticator = new Authenticator(config.identity, { ...options, runCredentials });
  let runs: RunService | undefined;
  let mcp: McpService | undefined;
  let postgresTls: Engine['postgresTls'] = { mode: 'off' };
  let postgresCertificate: string | undefined;
  let apiListener: ApiListener | undefined;
  let api: Engine['api'];
  let exec: ExecGateway | undefined;
  let apiServices: ApiServices;
  try {
    const listen = config.listen.postgres;
    if (listen) {
      const material = await listenerTls(config.data_dir, listen);
      const secureContext = material && createSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' });
      postgresTls = tlsMode(material);
      // The gateway's own certificate is handed to `sluice run` commands to verify it by.
      if (material && material.source !== 'configured') postgresCertificate = material.cert.toString();
      postgres = await startPostgresListener({
        host: listen.address.host,
        port: listen.address.port,
        allowCleartextWithoutTls: config.listen.allow_cleartext_without_tls,
        authenticator,
        resources: targets,
        resourcesFor: (identity) => policy.resourcesFor(identity).filter((name) => targets.has(name)),
        store,
        strictAudit: config.audit.durability === 'strict',
        gatekeeping: { classifier, policy },
        approvals,
        masking,
        limits: config.limits,
        cancels: new CancelRegistry(),
        log,
        tls: secureContext,
        clientLimits: CLIENT_LIMITS,
        upstreamLimits: UPSTREAM_LIMITS,
      }).catch((error: unknown) => {
        throw cannotListen('listen.postgres', listen.address, error);
      });
    }

    // The HTTP API gateway (proxy/http): listen.http serves /r/NAME/, a resource's own `listen` its root.
    http = await startHttpGateway({
      config,
      authenticator,
      policy,
      store,
      strictAudit: config.audit.durability === 'strict',
      approvals,
      masking,
      sampleBytes: config.audit.result_sample.bytes,
      log,
      tlsFor: (listen) => listenerTls(config.data_dir, listen),
    });

    const endpoints = (identity: Identity) =>
      runEndpoints(identity, {
        postgres,
        postgresTls: postgresTls.mode !== 'off',
        postgresCertificate,
        http,
        postgresResources: [...targets.keys()],
        httpResources: config.resources.filter((resource) => resource.type === 'http').map((resource) => resource.name),
        resources: (who) => policy.resourcesFor(who),
      });
    runs = new RunService({
      store,
      credentials: runCredentials,
      events,
      masking: () => masking.rules,
      secrets: () => heldSecrets(config),
      endpoints,
      log,
    });
    // The MCP gateway (proxy/mcp): tools over the same listeners, logged in with session credentials.
    mcp = new McpService({
      store,
      credentials: runCredentials,
      events,
      approvals,
      config: () => ({ ...config, masking: maskingInForce }),
      resourcesFor: (identity) => policy.resourcesFor(identity),
      endpoints,
      masking: () => masking.rules,
      secrets: () => heldSecrets(config),
      log,
    });

    // The engine API's services: served by the api listener, and by the desktop app over IPC.
    apiServices = {
      runs,
      approvals,
      audit: store,
      explain: async (input) => explainSql(policy, classifier, input),
      previewMasking: maskingPreviewService({ policy, classifier, targets, catalogs: masking.catalogs, key: maskingKey }),
      // The masking list follows the rule editor's saves.
      policyView: () => policyView({ ...config, masking: maskingInForce }),
      ...(options.configFile !== undefined && {
        maskingConfig: maskingConfigService({
          file: options.configFile,
          store,
          // HTTP connections are sessions too, and keep their rules the same way.
          openSessions: () => (postgres?.sessions ?? 0) + (http?.connections ?? 0),
          apply: (rules) => {
            masking.rules = new MaskingRules(rules, maskingKey);
            maskingInForce = [...rules];
          },
          log,
          ...(options.env && { env: options.env }),
        }),
      }),
    };

    // The engine API: approvals, sessions and policy for approvers and auditors (proxy/api).
    const apiListen = config.listen.api;
    const execResources = new Map(config.resources.filter((resource): resource is ExecResourceConfig => resource.type === 'exec').map((resource) => [resource.name, resource]));
    if (apiListen && execResources.size > 0) {
      exec = new ExecGateway({ resources: execResources, policy, approvals, store, masking, strictAudit: config.audit.durability === 'strict', heldSecrets: heldSecrets(config), log });
    }
    if (apiListen) {
      const material = await listenerTls(config.data_dir, apiListen);
      apiListener = await startApiListener({
        host: apiListen.address.host,
        port: apiListen.address.port,
        tls: material && { cert: material.cert, key: material.key },
        authenticator,
        roles: config.roles,
        services: apiServices,
        consoleDir: options.consoleDir ?? defaultConsoleDir(),
        events,
        log,
        ...(exec && { sockets: { [EXEC_PATH]: execSocketEndpoint({ gateway: exec, authenticator, log }) } }),
        mcp: { path: MCP_PATH, ...mcpHttpEndpoint(mcp, authenticator, log) },
      }).catch((error: unknown) => {
        throw cannotListen('listen.api', apiListen.address, error);
      });
      api = { url: apiListener.url, tls: tlsMode(material) };
    }
  } catch (error) {
    await mcp?.close();
    await runs?.close();
    await exec?.close();
    await postgres?.close();
    await http?.close();
    await approvals.close();
    await closeCatalogs(masking.catalogs);
    clearInterval(checkpoints);
    clearInterval(pruning);
    clearInterval(approvalPruning);
    await store.close();
    await lock.release();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    postgres,
    http,
    store,
    approvals,
    policy,
    classifier,
    events,
    postgresTls,
    api,
    exec,
    mcp: mcp!,
    apiServices,
    authenticate: (credential) => authenticator.authenticate(credential),
    close() {
      closing ??= (async () => {
        // First, so no decision arrives while the rest shuts down (it ends exec sessions too).
        await apiListener?.close();
        // MCP sessions (stdio ones too) end, their credentials revoked; then runs still open end as aborted.
        await mcp?.close();
        await runs?.close();
        await exec?.close();
        // Held statements end as cancelled (their clients get an error) before the listener closes.
        await approvals.close();
        await postgres?.close();
        await http?.close();
        await closeCatalogs(masking.catalogs);
        clearInterval(checkpoints);
        clearInterval(pruning);
        clearInterval(approvalPruning);
        await checkpoint();
        await store.close();
        await lock.release();
      })();
      return closing;
    },
  };
}

/** One catalog per PostgreSQL resource, each over its own side connection, opened when first needed. */
function catalogCaches(targets: ReadonlyMap<string, UpstreamTarget>): Map<string, CatalogCache> {
  return new Map(
    [...targets].map(([name, target]) => {
      const connection = new CatalogConnection(target);
      return [name, createCatalogCache({ query: (sql) => connection.query(sql), close: () => connection.close(), resource: name })];
    }),
  );
}

async function closeCatalogs(catalogs: ReadonlyMap<string, CatalogCache>): Promise<void> {
  await Promise.all([...catalogs.values()].map((catalog) => catalog.close()));
}

type Listener = NonNullable<Config['listen']['postgres']>;

/** A listener's certificate and key: `auto` generates (or reuses) the pair in data_dir; `off` has none. */
async function listenerTls(dataDir: string, listen: Listener): Promise<TlsMaterial | undefined> {
  if (listen.tls === 'off') return undefined;
  return listen.tls === 'auto' ? loadOrCreateSelfSigned(dataDir, [listen.address.host]) : loadConfiguredTls(listen.tls);
}

function tlsMode(material: TlsMaterial | undefined): Engine['postgresTls'] {
  return material ? { mode: material.source, fingerprint256: material.fingerprint256 } : { mode: 'off' };
}

function cannotListen(key: string, address: Listener['address'], error: unknown): Error {
  return new Error(`${key}: cannot listen on ${address.host}:${address.port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
}
