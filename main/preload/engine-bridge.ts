import type { ApiEventMessage, ApiResult } from '../../proxy/api/api-contract.js';
import type { BridgeConnectionState, DesktopBridge, IncomingBundle } from '../ipc/bridge-types.js';
import { API_CHANNEL_PREFIX, CONNECTION_CHANNEL, DESKTOP_CHANNEL_PREFIX, EVENT_CHANNEL, METHOD_NAME, NAVIGATE_CHANNEL, OPEN_BUNDLE_CHANNEL, SUBSCRIBE_CHANNEL } from '../ipc/channels.js';

// The object the preload exposes: EngineClient's transport over IPC. Built from an
// ipcRenderer-like so it is tested in plain Node (and its bundle in node:vm). The renderer never
// sees an IpcRendererEvent (it carries `sender`, a way back to raw IPC): listeners get data only.

export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  send(channel: string, ...args: unknown[]): void;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

function refused(code: 'not_found' | 'internal', message: string): ApiResult<never> {
  return { ok: false, error: { code, message } };
}

export function createEngineBridge(ipc: IpcRendererLike): DesktopBridge {
  const events = new Set<(message: ApiEventMessage) => void>();
  const states = new Set<(state: BridgeConnectionState) => void>();
  const navigations = new Set<(hash: string) => void>();
  const bundles = new Set<(bundle: IncomingBundle) => void>();
  let state: BridgeConnectionState = 'connecting';

  // One IPC listener per channel for the window's life; the sets fan out.
  ipc.on(EVENT_CHANNEL, (_event, message) => {
    for (const listener of events) listener(message as ApiEventMessage);
  });
  ipc.on(CONNECTION_CHANNEL, (_event, next) => {
    if (next !== 'connecting' && next !== 'live' && next !== 'offline') return;
    state = next;
    for (const listener of states) listener(state);
  });
  ipc.on(NAVIGATE_CHANNEL, (_event, hash) => {
    if (typeof hash !== 'string' || !hash.startsWith('#/')) return;
    for (const listener of navigations) listener(hash);
  });
  ipc.on(OPEN_BUNDLE_CHANNEL, (_event, bundle) => {
    const value = bundle as Partial<IncomingBundle> | undefined;
    if (typeof value?.name !== 'string' || !(value.bytes instanceof Uint8Array)) return;
    for (const listener of bundles) listener({ name: value.name, bytes: value.bytes });
  });

  const invoke = async (prefix: string, method: unknown, input: unknown): Promise<ApiResult<never>> => {
    if (typeof method !== 'string' || !METHOD_NAME.test(method)) return refused('not_found', `there is no method ${JSON.stringify(String(method).slice(0, 100))}`);
    try {
      return (await ipc.invoke(prefix + method, input)) as ApiResult<never>;
    } catch (error) {
      // No handler for the channel (an unknown method), or the main process failed to answer.
      const message = error instanceof Error ? error.message : String(error);
      if (message.includes('No handler registered')) return refused('not_found', `the desktop app has no method ${JSON.stringify(method)}`);
      return refused('internal', `the desktop app failed to answer ${method}; see its log`);
    }
  };

  const listen = <T>(set: Set<T>, listener: T): (() => void) => {
    set.add(listener);
    return () => void set.delete(listener);
  };

  return {
    call: (method, input) => invoke(API_CHANNEL_PREFIX, method, input),
    desktop: (method, input) => invoke(DESKTOP_CHANNEL_PREFIX, method, input),
    subscribe(listener) {
      events.add(listener);
      if (events.size === 1) ipc.send(SUBSCRIBE_CHANNEL, true);
      return () => {
        if (events.delete(listener) && events.size === 0) ipc.send(SUBSCRIBE_CHANNEL, false);
      };
    },
    onConnection(listener) {
      states.add(listener);
      listener(state);
      return () => void states.delete(listener);
    },
    onNavigate: (listener) => listen(navigations, listener),
    onOpenBundle: (listener) => listen(bundles, listener),
  };
}
