import { chmod, mkdir } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import { openAuditStore } from '../audit/audit-store.js';
import type { AuditStore } from '../audit/audit-types.js';
import type { Config } from '../config/schema.js';
import { Authenticator, type AuthenticatorOptions } from '../identity/authenticator.js';
import { CancelRegistry } from '../postgres/cancel-registry.js';
import { CLIENT_LIMITS, UPSTREAM_LIMITS } from '../postgres/message-reader.js';
import { startPostgresListener, type PostgresListener } from '../postgres/postgres-listener.js';
import { loadConfiguredTls, loadOrCreateSelfSigned } from '../postgres/tls-material.js';
import { resourcesFor } from '../policy/resource-access.js';
import type { Logger } from './logger.js';
import { lockDataDir } from './data-dir-lock.js';
import { upstreamTargets } from './upstream-targets.js';

export interface EngineOptions extends AuthenticatorOptions {
  readonly log: Logger;
}

/** A running gateway: its listeners and audit store, one `close()` to stop it all. */
export interface Engine {
  readonly postgres: PostgresListener | undefined;
  readonly store: AuditStore;
  /** How the PostgreSQL listener answers SSLRequest, for the startup banner. */
  readonly postgresTls: { readonly mode: 'off' | 'configured' | 'generated' | 'reused'; readonly fingerprint256?: string };
  close(): Promise<void>;
}

/** Starts what the config describes. Throws an Error naming the config key when something cannot start. */
export async function startEngine(config: Config, options: EngineOptions): Promise<Engine> {
  const { log } = options;
  if (config.audit.store !== 'sqlite') {
    throw new Error('audit.store: a PostgreSQL audit store is not available yet in this version; use "sqlite"');
  }
  await mkdir(config.data_dir, { recursive: true, mode: 0o700 });
  await chmod(config.data_dir, 0o700);
  const targets = await upstreamTargets(config.resources);
  const lock = await lockDataDir(config.data_dir);

  let postgres: PostgresListener | undefined;
  const store = await openAuditStore({
    dataDir: config.data_dir,
    durability: config.audit.durability,
    onError: (error) => {
      // Fail closed: sessions the store cannot record must not go on, and new logins are refused
      // (client-session checks store.failure) until an operator restarts the gateway.
      log.error('audit store write failed; ending all sessions', { reason: error.message });
      postgres?.endSessions('the audit store is failing, so Sluice ends sessions it cannot record', '58030');
    },
  }).catch(async (error: unknown) => {
    await lock.release();
    throw error;
  });

  let postgresTls: Engine['postgresTls'] = { mode: 'off' };
  try {
    const listen = config.listen.postgres;
    if (listen) {
      let secureContext: SecureContext | undefined;
      if (listen.tls !== 'off') {
        const material = listen.tls === 'auto' ? await loadOrCreateSelfSigned(config.data_dir, [listen.address.host]) : await loadConfiguredTls(listen.tls);
        secureContext = createSecureContext({ cert: material.cert, key: material.key, minVersion: 'TLSv1.2' });
        postgresTls = { mode: material.source, fingerprint256: material.fingerprint256 };
      }
      postgres = await startPostgresListener({
        host: listen.address.host,
        port: listen.address.port,
        allowCleartextWithoutTls: config.listen.allow_cleartext_without_tls,
        authenticator: new Authenticator(config.identity, options),
        resources: targets,
        resourcesFor: (identity) => resourcesFor(identity, config).filter((name) => targets.has(name)),
        store,
        cancels: new CancelRegistry(),
        log,
        tls: secureContext,
        clientLimits: CLIENT_LIMITS,
        upstreamLimits: UPSTREAM_LIMITS,
      }).catch((error: unknown) => {
        throw new Error(`listen.postgres: cannot listen on ${listen.address.host}:${listen.address.port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
      });
    }
  } catch (error) {
    await store.close();
    await lock.release();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    postgres,
    store,
    postgresTls,
    close() {
      closing ??= (async () => {
        await postgres?.close();
        await store.close();
        await lock.release();
      })();
      return closing;
    },
  };
}
