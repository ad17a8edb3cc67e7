// The desktop app's own methods (settings, remote gateways, about), beside the engine API: the
// same shape (zod input, ApiResult answer), bound by the same IPC binding. The renderer imports
// only types from here (bridge-types.ts); the schemas run in the main process.
import { z } from 'zod';

const THEMES = ['system', 'light', 'dark'] as const;

export const DESKTOP_SETTINGS = z.strictObject({
  /** Native notifications for new approval requests. */
  notifications: z.boolean({ error: 'expected true or false' }),
  /** Notifications held back (the tray count still shows them). */
  doNotDisturb: z.boolean({ error: 'expected true or false' }),
  theme: z.enum(THEMES, { error: `must be one of ${THEMES.join(', ')}` }),
  launchAtLogin: z.boolean({ error: 'expected true or false' }),
});

export type DesktopSettings = z.output<typeof DESKTOP_SETTINGS>;

export const DEFAULT_SETTINGS: DesktopSettings = { notifications: true, doNotDisturb: false, theme: 'system', launchAtLogin: false };

/** A SHA-256 certificate fingerprint as `sluice serve` and `npm run demo` print it (hex pairs, colons optional). */
const FINGERPRINT = /^(?:[0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/;

export const DESKTOP_METHODS = {
  'app.info': z.strictObject({}),
  'settings.get': z.strictObject({}),
  'settings.update': DESKTOP_SETTINGS.partial(),
  'gateways.list': z.strictObject({}),
  'gateways.add': z.strictObject({
    label: z.string({ error: 'expected a name (a string)' }).trim().min(1, 'must not be empty').max(80, 'must be at most 80 characters'),
    url: z.string({ error: 'expected the gateway URL (a string)' }).trim().min(1, 'must not be empty').max(2_000, 'is too long for a URL'),
    token: z.string({ error: 'expected an approver token (a string)' }).trim().min(1, 'must not be empty').max(20_000, 'is too long for a token'),
    fingerprint: z
      .string({ error: 'expected a SHA-256 fingerprint (a string)' })
      .trim()
      .regex(FINGERPRINT, 'must be a SHA-256 fingerprint: 32 hex pairs, as `sluice serve` prints it')
      .optional(),
  }),
  'gateways.remove': z.strictObject({ id: z.string({ error: 'expected a gateway id (a string)' }).min(1, 'must not be empty').max(100) }),
} as const;

export type DesktopMethods = typeof DESKTOP_METHODS;
export type DesktopMethodName = keyof DesktopMethods;
export type DesktopInput<N extends DesktopMethodName> = z.input<DesktopMethods[N]>;

export function isDesktopMethodName(name: string): name is DesktopMethodName {
  return Object.hasOwn(DESKTOP_METHODS, name);
}

/** Where the local engine is: the desktop's own gateway, the one psql is pointed at. */
export interface LocalEngineInfo {
  readonly state: 'starting' | 'running' | 'failed' | 'stopped';
  /** Why it is not running (config error, port taken), for people. */
  readonly message?: string;
  readonly configFile: string;
  /** host:port of its PostgreSQL listener, when it has one. */
  readonly postgres?: string;
  /** Its HTTP gateway listeners (origins). */
  readonly http?: readonly string[];
}

export interface SecretStorageInfo {
  /** Tokens are encrypted with a key the OS keeps (Keychain, DPAPI, a Secret Service keyring). */
  readonly encrypted: boolean;
  /** Linux: the selected backend (`basic_text` means no keyring); elsewhere the OS's store. */
  readonly backend: string;
  /** Set when tokens would be stored readable by anyone who can read the user's files. */
  readonly warning?: string;
}

export interface AppInfo {
  readonly name: string;
  readonly version: string;
  readonly electron: string;
  readonly platform: string;
  readonly engine: LocalEngineInfo;
  readonly secretStorage: SecretStorageInfo;
  /** setLoginItemSettings works on macOS and Windows only. */
  readonly launchAtLoginSupported: boolean;
}

export type GatewayState = 'connecting' | 'live' | 'offline';

/** A remote gateway as the renderer sees it: never its token. */
export interface GatewayView {
  readonly id: string;
  readonly label: string;
  readonly url: string;
  /** The pinned certificate fingerprint, when one was given. */
  readonly fingerprint?: string;
  /** How its token is kept: `plain-text` when the OS offers no encryption. */
  readonly tokenStorage: 'encrypted' | 'plain-text';
  readonly state: GatewayState;
  /** The last failure reaching it, for people. */
  readonly problem?: string;
}

export interface DesktopOutputs {
  'app.info': AppInfo;
  'settings.get': DesktopSettings;
  'settings.update': DesktopSettings;
  'gateways.list': GatewayView[];
  'gateways.add': GatewayView;
  'gateways.remove': { removed: boolean };
}

export type DesktopOutput<N extends DesktopMethodName> = DesktopOutputs[N];
