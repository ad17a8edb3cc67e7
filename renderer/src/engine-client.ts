import type { ApiClient } from '../../proxy/api/api-contract.js';

// What every screen talks to. The web console implements it over HTTP + WebSocket
// (web/http-engine-client.ts); the desktop app over IPC. Screens never know which.

export type ConnectionState = 'connecting' | 'live' | 'offline';

export interface EngineClient extends ApiClient {
  /** Where the engine is, for people ("127.0.0.1:7070", "this computer"). */
  readonly label: string;
  /** The events connection's state; the listener is called at once with the current state. */
  onConnection(listener: (state: ConnectionState) => void): () => void;
  close(): void;
}
