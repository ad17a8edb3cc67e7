import type { ApiEventMessage, ApiEventName } from '../../proxy/api/api-contract.js';
import { invokeApi } from '../../proxy/api/api-dispatch.js';
import { failed } from '../../proxy/api/api-result.js';
import { formatIssue, loadConfig } from '../../proxy/config/load-config.js';
import { startEngine, type Engine } from '../../proxy/engine/engine.js';
import type { Logger } from '../../proxy/engine/logger.js';
import type { Identity } from '../../proxy/identity/identity.js';
import type { LocalEngineInfo } from '../ipc/desktop-contract.js';
import type { HostPort, HostReply, HostRequest } from './host-protocol.js';
import { OPERATOR_ROLES, operatorIdentity } from './operator.js';

// The local engine's host: runs the desktop's own gateway (startEngine, as `sluice serve` does)
// and answers engine API calls for the operator. It runs in an Electron utilityProcess, so a
// statement's masking or a big replay never holds up the main process (menus, window, IPC).
// Plain Node: tests drive it over a worker_threads MessageChannel.

const ALWAYS: readonly ApiEventName[] = ['approval.requested', 'approval.decided'];
const ON_DEMAND: readonly ApiEventName[] = ['session.started', 'session.ended', 'event.appended'];

export interface EngineHostOptions {
  readonly log: Logger;
  /** The environment `${env:X}` references resolve in. */
  readonly env: NodeJS.ProcessEnv;
  /** Called once the engine has stopped after a `stop` (the utility process exits). */
  readonly onStopped?: () => void;
}

export function serveEngineHost(port: HostPort<HostRequest, HostReply>, options: EngineHostOptions): void {
  const { log } = options;
  let engine: Engine | undefined;
  let problem = 'the local gateway is starting';
  let operator: Identity | undefined;
  const unsubscribe = new Map<ApiEventName, () => void>();

  // JSON, as the WebSocket sends them: what crosses is exactly what the web console would get.
  const forward = (message: ApiEventMessage) => port.post({ type: 'event', message: JSON.parse(JSON.stringify(message)) as ApiEventMessage });
  const listen = (names: readonly ApiEventName[], on: boolean) => {
    for (const name of names) {
      if (on && engine && !unsubscribe.has(name)) unsubscribe.set(name, engine.events.on(name, (payload) => forward({ event: name, payload } as ApiEventMessage)));
      if (!on) {
        unsubscribe.get(name)?.();
        unsubscribe.delete(name);
      }
    }
  };
  let eventsWanted = false;

  port.onMessage((request) => {
    switch (request.type) {
      case 'start':
        if (engine || operator) return;
        operator = operatorIdentity(request.operator);
        void start(request.configFile).then(
          (started) => {
            engine = started;
            listen(ALWAYS, true);
            listen(ON_DEMAND, eventsWanted);
            port.post({ type: 'started', engine: describe(started, request.configFile) });
          },
          (error: unknown) => {
            problem = error instanceof Error ? error.message : String(error);
            log.error('local gateway did not start', { reason: problem });
            port.post({ type: 'failed', message: problem });
          },
        );
        return;
      case 'call': {
        const { id, method, input } = request;
        if (!engine || !operator) return port.post({ type: 'result', id, result: failed('unavailable', `the local gateway is not running: ${problem}`) });
        void invokeApi(method, input, operator, { roles: OPERATOR_ROLES, services: engine.apiServices, log }).then((result) =>
          port.post({ type: 'result', id, result: JSON.parse(JSON.stringify(result)) as typeof result }),
        );
        return;
      }
      case 'events':
        eventsWanted = request.on;
        listen(ON_DEMAND, request.on);
        return;
      case 'stop':
        listen([...ALWAYS, ...ON_DEMAND], false);
        void (engine?.close() ?? Promise.resolve()).then(
          () => {
            engine = undefined;
            problem = 'the local gateway has stopped';
            port.post({ type: 'stopped' });
            options.onStopped?.();
          },
          (error: unknown) => {
            log.error('local gateway did not stop cleanly', { reason: error instanceof Error ? error.message : String(error) });
            port.post({ type: 'stopped' });
            options.onStopped?.();
          },
        );
        return;
    }
  });

  async function start(configFile: string): Promise<Engine> {
    const loaded = await loadConfig(configFile, { env: options.env });
    for (const warning of loaded.warnings) log.warn('config', { warning: formatIssue(configFile, warning) });
    return startEngine(loaded.config, { log, configFile, env: options.env });
  }
}

function describe(engine: Engine, configFile: string): LocalEngineInfo {
  const host = (name: string) => (name.includes(':') ? `[${name}]` : name);
  return {
    state: 'running',
    configFile,
    ...(engine.postgres && { postgres: `${host(engine.postgres.host)}:${engine.postgres.port}` }),
    ...(engine.http && engine.http.listeners.length > 0 && { http: engine.http.listeners.map((l) => `${l.secure ? 'https' : 'http'}://${host(l.host)}:${l.port}`) }),
  };
}
