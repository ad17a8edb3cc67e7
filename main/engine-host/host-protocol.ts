import type { ApiEventMessage, ApiResult } from '../../proxy/api/api-contract.js';
import type { LocalEngineInfo } from '../ipc/desktop-contract.js';

// Messages between the main process and the engine host (a utilityProcess): plain data that
// survives structured clone. Calls carry an id the answer repeats.

export type HostRequest =
  | { readonly type: 'start'; readonly configFile: string; readonly operator: string }
  | { readonly type: 'call'; readonly id: number; readonly method: string; readonly input: unknown }
  /** Session and audit-event pushes on or off (approval events always flow: notifications need them). */
  | { readonly type: 'events'; readonly on: boolean }
  | { readonly type: 'stop' };

export type HostReply =
  | { readonly type: 'started'; readonly engine: LocalEngineInfo }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'result'; readonly id: number; readonly result: ApiResult<unknown> }
  | { readonly type: 'event'; readonly message: ApiEventMessage }
  | { readonly type: 'stopped' };

/** Either end of the link: Electron's parentPort / UtilityProcess, or a worker_threads MessagePort in tests. */
export interface HostPort<In, Out> {
  post(message: Out): void;
  onMessage(listener: (message: In) => void): void;
}
