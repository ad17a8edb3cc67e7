// The shape of the object the preload exposes (window.sluice): the engine API over IPC plus the
// desktop's own methods and pushes. Types only: the renderer imports them (`import type`), the
// preload implements them (preload/engine-bridge.ts).
import type { Approval, ApiEventMessage, ApiInput, ApiMethodName, ApiOutput, ApiResult } from '../../proxy/api/api-contract.js';
import type { DesktopInput, DesktopMethodName, DesktopOutput } from './desktop-contract.js';

export type { AppInfo, DesktopSettings, GatewayView, GatewayState, LocalEngineInfo, SecretStorageInfo, DesktopMethodName, DesktopInput, DesktopOutput } from './desktop-contract.js';

export type BridgeConnectionState = 'connecting' | 'live' | 'offline';

/** An approval in the desktop's merged inbox: `origin` names the gateway holding it. */
export type InboxApproval = Approval & { readonly origin?: string };

/** A bundle handed to the window (File > Open bundle, a double-clicked .sluice file). */
export interface IncomingBundle {
  readonly name: string;
  readonly bytes: Uint8Array;
}

export interface DesktopBridge {
  call<N extends ApiMethodName>(method: N, input: ApiInput<N>): Promise<ApiResult<ApiOutput<N>>>;
  /** Engine events (every gateway's approvals, the local engine's sessions); returns an unsubscribe function. */
  subscribe(listener: (message: ApiEventMessage) => void): () => void;
  /** The local engine's state as a connection; the listener is called at once with the current state. */
  onConnection(listener: (state: BridgeConnectionState) => void): () => void;
  desktop<N extends DesktopMethodName>(method: N, input: DesktopInput<N>): Promise<ApiResult<DesktopOutput<N>>>;
  /** The main process asks the window to show a route (`#/approvals/ID` from a notification, the tray). */
  onNavigate(listener: (hash: string) => void): () => void;
  onOpenBundle(listener: (bundle: IncomingBundle) => void): () => void;
}
