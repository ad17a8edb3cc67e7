import type { ApiEventMessage, ApiInput, ApiMethodName, ApiOutput, ApiResult } from '../../../proxy/api/api-contract.js';
import type { DesktopBridge } from '../../../main/ipc/bridge-types.js';
import type { ConnectionState, EngineClient } from '../engine-client.js';

// The EngineClient inside the desktop app: the engine API over the preload's IPC object. The
// main process routes each call (the local engine, or the remote gateway holding an approval).

export class IpcEngineClient implements EngineClient {
  readonly label = 'this computer';
  readonly #bridge: DesktopBridge;

  constructor(bridge: DesktopBridge) {
    this.#bridge = bridge;
  }

  call<N extends ApiMethodName>(method: N, input: ApiInput<N>): Promise<ApiResult<ApiOutput<N>>> {
    return this.#bridge.call(method, input);
  }

  subscribe(listener: (message: ApiEventMessage) => void): () => void {
    return this.#bridge.subscribe(listener);
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    return this.#bridge.onConnection(listener);
  }

  close(): void {
    // The bridge lives as long as the window.
  }
}
