import type { z } from 'zod';
import { API_EVENTS, API_METHODS, type ApiEventMessage, type ApiEventName, type ApiMethodName } from '../../proxy/api/api-contract.js';
import { describeIssues } from '../../proxy/api/api-dispatch.js';
import { failed, type ApiResult } from '../../proxy/api/api-result.js';
import type { ApiRole } from '../../proxy/api/api-roles.js';
import { API_CHANNEL_PREFIX, DESKTOP_CHANNEL_PREFIX } from './channels.js';
import { DESKTOP_METHODS, type DesktopMethodName, type DesktopMethods, type DesktopOutput } from './desktop-contract.js';

// The IPC binding, generated from the API tables: one handler per engine API method and per
// desktop method. Each checks who is asking (our window's main frame, on our app page), validates
// the input with the method's own zod schema, and only then hands the call on. Plain: the
// Electron glue (electron/ipc-main.ts) registers these on ipcMain and is the only ipcMain user.

/** Who sent an IPC message, as read off Electron's event. */
export interface SenderInfo {
  readonly webContentsId: number;
  /** The sending frame's URL (undefined when the frame is gone). */
  readonly frameUrl: string | undefined;
  /** The sending frame is its page's top frame (not an iframe). */
  readonly isMainFrame: boolean;
}

/** Where our window is: its webContents and the app page's scheme and host (sluice://app). */
export interface TrustedWindow {
  readonly webContentsId: () => number | undefined;
  readonly protocol: string;
  readonly host: string;
}

export function isTrustedSender(sender: SenderInfo, window: TrustedWindow): boolean {
  if (!sender.isMainFrame || sender.frameUrl === undefined) return false;
  if (sender.webContentsId !== window.webContentsId()) return false;
  try {
    // Not `origin`: WHATWG URL gives custom schemes an opaque origin ("null").
    const url = new URL(sender.frameUrl);
    return url.protocol === window.protocol && url.host === window.host;
  } catch {
    return false;
  }
}

/** Engine API calls go here once checked: the merged inbox (local engine + remote gateways). */
export interface EngineRoute {
  call(method: ApiMethodName, input: unknown): Promise<ApiResult<unknown>>;
}

export type DesktopHandlers = { readonly [N in DesktopMethodName]: (input: z.output<DesktopMethods[N]>) => Promise<DesktopOutput<N>> };

export type IpcHandler = (sender: SenderInfo, input: unknown) => Promise<ApiResult<unknown>>;

export interface IpcBindingOptions {
  readonly window: TrustedWindow;
  readonly engine: EngineRoute;
  readonly desktop: DesktopHandlers;
  /** A refused sender, for the log (never the input: it may hold a token). */
  readonly onRefused?: (channel: string, sender: SenderInfo) => void;
  /** A desktop handler threw: the log gets it, the renderer a reference-free message. */
  readonly onError?: (channel: string, error: unknown) => void;
}

/** Every channel the binding answers, with its handler. */
export function ipcHandlers(options: IpcBindingOptions): ReadonlyMap<string, IpcHandler> {
  const handlers = new Map<string, IpcHandler>();
  const guard = (channel: string, handle: (input: unknown) => Promise<ApiResult<unknown>>): IpcHandler => {
    return async (sender, input) => {
      if (!isTrustedSender(sender, options.window)) {
        options.onRefused?.(channel, sender);
        return failed('forbidden', 'this IPC call did not come from the Sluice window; refused');
      }
      return handle(input);
    };
  };

  for (const name of Object.keys(API_METHODS) as ApiMethodName[]) {
    const schema = API_METHODS[name].input as z.ZodType;
    const channel = API_CHANNEL_PREFIX + name;
    handlers.set(
      channel,
      guard(channel, async (input) => {
        const parsed = schema.safeParse(input);
        if (!parsed.success) return failed('invalid_input', describeIssues(parsed.error.issues));
        // The checked input goes on; the engine's invokeApi validates it again with the same schema.
        return options.engine.call(name, input);
      }),
    );
  }

  for (const name of Object.keys(DESKTOP_METHODS) as DesktopMethodName[]) {
    const schema = DESKTOP_METHODS[name] as z.ZodType;
    const handler = options.desktop[name] as (input: unknown) => Promise<unknown>;
    const channel = DESKTOP_CHANNEL_PREFIX + name;
    handlers.set(
      channel,
      guard(channel, async (input) => {
        const parsed = schema.safeParse(input);
        if (!parsed.success) return failed('invalid_input', describeIssues(parsed.error.issues));
        try {
          return { ok: true, value: await handler(parsed.data) };
        } catch (error) {
          if (error instanceof DesktopFailure) return failed(error.code, error.message);
          options.onError?.(channel, error);
          return failed('internal', `${name} failed in the desktop app; its log has the detail`);
        }
      }),
    );
  }
  return handlers;
}

/** Thrown by desktop handlers to answer with this error (a refused gateway, an unknown id). */
export class DesktopFailure extends Error {
  constructor(
    readonly code: 'invalid_input' | 'not_found' | 'unavailable' | 'forbidden' | 'unauthenticated' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'DesktopFailure';
  }
}

/** The events a caller holding `roles` receives, per API_EVENTS. */
export function eventsForRoles(roles: ReadonlySet<ApiRole>): ReadonlySet<ApiEventName> {
  return new Set((Object.keys(API_EVENTS) as ApiEventName[]).filter((name) => roles.has(API_EVENTS[name])));
}

/**
 * Pushes engine events to the window while it is subscribed, only those its roles receive.
 * `send` is webContents.send on our window.
 */
export class EventPush {
  readonly #allowed: ReadonlySet<ApiEventName>;
  readonly #send: (message: ApiEventMessage) => void;
  #subscribed = false;

  constructor(roles: ReadonlySet<ApiRole>, send: (message: ApiEventMessage) => void) {
    this.#allowed = eventsForRoles(roles);
    this.#send = send;
  }

  get subscribed(): boolean {
    return this.#subscribed;
  }

  /** From the trusted window only (the caller checks the sender). */
  setSubscribed(on: boolean): void {
    this.#subscribed = on;
  }

  /** Whether the window receives this kind of event at all (the engine host listens only for those). */
  receives(name: ApiEventName): boolean {
    return this.#allowed.has(name);
  }

  push(message: ApiEventMessage): boolean {
    if (!this.#subscribed || !this.#allowed.has(message.event)) return false;
    this.#send(message);
    return true;
  }
}
