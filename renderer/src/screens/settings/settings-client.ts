import type { DesktopBridge } from '../../../../main/ipc/bridge-types.js';

// What the settings screen talks to: the desktop's own methods (settings, remote gateways, about).
// In the app it is the preload's object; component tests give an in-memory one.
export type SettingsClient = Pick<DesktopBridge, 'desktop'>;
