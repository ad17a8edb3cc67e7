// The IPC channel names, shared by the main process binding and the preload. Plain strings: the
// preload bundle must not pull the engine's API table (zod, handlers) in to know them.

/** The object the preload exposes on `window` (contextBridge.exposeInMainWorld). */
export const BRIDGE_NAME = 'sluice';

/** One invoke channel per engine API method: `sluice:api:<method>` (the binding registers each). */
export const API_CHANNEL_PREFIX = 'sluice:api:';
/** One invoke channel per desktop method (settings, gateways, app info). */
export const DESKTOP_CHANNEL_PREFIX = 'sluice:desktop:';

/** Renderer -> main: the renderer wants engine events (true) or no longer (false). */
export const SUBSCRIBE_CHANNEL = 'sluice:subscribe';

/** Main -> renderer pushes. */
export const EVENT_CHANNEL = 'sluice:event';
export const CONNECTION_CHANNEL = 'sluice:connection';
export const NAVIGATE_CHANNEL = 'sluice:navigate';
export const OPEN_BUNDLE_CHANNEL = 'sluice:open-bundle';

/** What a method name looks like (`approvals.list`): the preload refuses anything else before it reaches IPC. */
export const METHOD_NAME = /^[a-z][A-Za-z0-9]*(?:\.[a-z][A-Za-z0-9]*)+$/;
