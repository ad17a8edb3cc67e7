import { isLoopbackHost } from '../../common/urls.js';
import { formatIssue } from '../../config/load-config.js';
import { startEngine, type Engine } from '../../engine/engine.js';
import { createLogger } from '../../engine/logger.js';
import type { Command } from '../command.js';
import { configPath, loadConfigOrReport } from '../config-file.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from '../io.js';

export const serveCommand: Command = {
  words: ['serve'],
  summary: 'run the gateway headless: the configured listeners, recording to the audit store',
  usage: '[--config FILE] [--log-format text|json]',
  details: [
    'Starts the listeners in the config (postgres, http, and api with the web console,',
    '/mcp and exec) and prints where they listen. Logs go to stderr. SIGTERM or SIGINT ends',
    'every session (FATAL 57P01, as a PostgreSQL shutdown does), flushes the audit store and',
    'exits 0.',
  ],
  options: { config: { type: 'string', short: 'c' }, 'log-format': { type: 'string' } },
  async run(args, io) {
    const file = configPath(args, io);
    const format = args.values['log-format'] === 'json' ? 'json' : 'text';
    const loaded = await loadConfigOrReport(file, io);
    if (!loaded) return EXIT_FAILED;
    for (const warning of loaded.warnings) io.stderr(`warning: ${formatIssue(file, warning)}\n`);
    const log = createLogger(io.stderr, format);
    // Listen for the stop signals before anyone can learn we are up: a SIGTERM sent right after
    // the banner must end the gateway cleanly, not kill it.
    const stopped = waitForStop(io);
    let engine: Engine;
    try {
      engine = await startEngine(loaded.config, { log, configFile: file, env: io.env });
    } catch (error) {
      io.stderr(`sluice serve: ${(error as Error).message}\n`);
      stopped.cancel();
      return EXIT_FAILED;
    }
    io.stdout(banner(engine, loaded.config.resources.map((resource) => resource.name)));
    io.stderr(plainApiWarning(engine));
    await stopped.promise;
    log.info('shutting down', { sessions: engine.postgres?.sessions ?? 0 });
    await engine.close();
    log.info('stopped');
    return EXIT_OK;
  },
};

function banner(engine: Engine, resources: readonly string[]): string {
  const lines = [`sluice serve: audit store ${engine.store.file}`];
  if (engine.postgres) {
    const { host, port } = engine.postgres;
    const tls = engine.postgresTls;
    lines.push(`postgres listening on ${host.includes(':') ? `[${host}]` : host}:${port} (${tlsText(tls)})`);
    if (resources[0]) lines.push(`  connect: psql "postgres://ANY@${host.includes(':') ? `[${host}]` : host}:${port}/${resources[0]}"  (password: your token)`);
  }
  for (const listener of engine.http?.listeners ?? []) {
    const origin = `${listener.secure ? 'https' : 'http'}://${listener.host.includes(':') ? `[${listener.host}]` : listener.host}:${listener.port}`;
    lines.push(`http listening on ${origin} (${listener.resource ? `resource ${listener.resource} at /` : 'resources at /r/NAME/'}${listener.secure ? ', TLS' : ', TLS off'})`);
  }
  if (engine.api) {
    lines.push(`api listening on ${engine.api.url} (${tlsText(engine.api.tls)})`);
  }
  if (!engine.postgres && !engine.api && !engine.http) lines.push('no listeners configured (listen.postgres, listen.http, listen.api)');
  return `${lines.join('\n')}\n`;
}

function tlsText(tls: Engine['postgresTls']): string {
  return tls.mode === 'off' ? 'TLS off' : `TLS ${tls.mode === 'configured' ? 'with the configured certificate' : 'with a self-signed certificate'} (sha256 ${tls.fingerprint256})`;
}

/** Bearer tokens sent in the clear beyond this machine: said once, at startup. */
function plainApiWarning(engine: Engine): string {
  if (!engine.api || engine.api.tls.mode !== 'off') return '';
  if (isLoopbackHost(new URL(engine.api.url).hostname)) return '';
  return `warning: the engine API on ${engine.api.url} has TLS off and is reachable beyond this machine: tokens cross the network in the clear; set listen.api.tls to auto or to a certificate\n`;
}

/** Resolves on SIGTERM, SIGINT or io.signal; `cancel` removes the handlers without resolving. */
function waitForStop(io: CliIo): { promise: Promise<void>; cancel: () => void } {
  let stop = () => {};
  const remove = () => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    io.signal?.removeEventListener('abort', stop);
  };
  const promise = new Promise<void>((resolve) => {
    stop = () => {
      remove();
      resolve();
    };
  });
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  io.signal?.addEventListener('abort', stop);
  return { promise, cancel: remove };
}
