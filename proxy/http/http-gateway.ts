import { isLoopbackHost } from '../common/urls.js';
import type { Config } from '../config/schema.js';
import { MIN_SCRUBBED_LENGTH } from './credential-scrubber.js';
import { RequestRates } from './request-rates.js';
import type { HttpGatewayContext } from './http-context.js';
import { startHttpListener, type HttpListener } from './http-listener.js';
import { httpResources } from './http-resources.js';

// The HTTP API gateway as the engine starts it: `listen.http` serves every http resource under
// /r/NAME/, and a resource with its own `listen` is served at the root of that port too.

type Listener = NonNullable<Config['listen']['http']>;

export interface HttpGatewayOptions extends Omit<HttpGatewayContext, 'resources' | 'rates'> {
  readonly config: Pick<Config, 'listen' | 'resources' | 'limits'>;
  /** The certificate and key for a listener's `tls` setting (undefined: plain HTTP). */
  readonly tlsFor: (listener: Listener) => Promise<{ readonly cert: string | Buffer; readonly key: string | Buffer } | undefined>;
}

export interface HttpGateway {
  /** Every listener: the shared one first (when listen.http is set), then resources' own. */
  readonly listeners: readonly HttpListener[];
  /** Client connections open now, on every listener. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * Starts the HTTP listeners the config asks for; undefined when it asks for none. Throws an Error
 * naming the config key when one cannot start (listeners already started are closed first).
 */
export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGateway | undefined> {
  const { config } = options;
  const resources = await httpResources(config.resources);
  const shared = config.listen.http;
  const own = [...resources.values()].filter((resource) => resource.listen !== undefined);
  if (!shared && own.length === 0) return undefined;
  for (const resource of resources.values()) {
    if (resource.injection && resource.scrubber.empty) {
      options.log.warn('http resource credential too short to scrub from responses', { resource: resource.name, min_length: MIN_SCRUBBED_LENGTH });
    }
  }
  const ctx: HttpGatewayContext = { ...options, resources, rates: new RequestRates(config.limits) };
  const listeners: HttpListener[] = [];
  const start = async (key: string, listen: Listener, resource?: string) => {
    const tls = await options.tlsFor(listen);
    const requireTls = !isLoopbackHost(listen.address.host) && !config.listen.allow_cleartext_without_tls;
    try {
      listeners.push(await startHttpListener({ host: listen.address.host, port: listen.address.port, ...(tls ? { tls } : {}), side: { requireTls, ...(resource ? { resource } : {}) }, ctx }));
    } catch (error) {
      throw new Error(`${key}: cannot listen on ${listen.address.host}:${listen.address.port} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, { cause: error });
    }
  };
  try {
    if (shared) await start('listen.http', shared);
    for (const resource of own) await start(`resources "${resource.name}": listen`, resource.listen!, resource.name);
  } catch (error) {
    await Promise.all(listeners.map((listener) => listener.close()));
    for (const resource of resources.values()) resource.agent.destroy();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    listeners,
    get connections() {
      return listeners.reduce((sum, listener) => sum + listener.connections, 0);
    },
    close() {
      closing ??= (async () => {
        await Promise.all(listeners.map((listener) => listener.close()));
        for (const resource of resources.values()) resource.agent.destroy();
      })();
      return closing;
    },
  };
}
