import { safeStorage } from 'electron';
import Store from 'electron-store';
import type { KeyValueStore } from '../gateways/gateway-list.js';
import { SecretVault } from '../gateways/secret-vault.js';

// electron-store (a JSON file in the app's data folder, written atomically) behind the small
// KeyValueStore interface, and safeStorage behind the vault. Both after app 'ready'.

export function openAppStore(): KeyValueStore {
  const store = new Store<Record<string, unknown>>({ name: 'sluice-desktop' });
  return { get: (key) => store.get(key), set: (key, value) => store.set(key, value) };
}

export function openVault(): SecretVault {
  return new SecretVault(safeStorage, process.platform);
}
