import { DEFAULT_SETTINGS, DESKTOP_SETTINGS, type DesktopSettings } from '../ipc/desktop-contract.js';
import type { KeyValueStore } from '../gateways/gateway-list.js';

// The desktop settings (notifications, do-not-disturb, theme, launch at login) in the app's
// key-value store. A value that does not parse (a hand-edited file) falls back to its default
// alone; the rest are kept.

const KEY = 'settings';

export class SettingsStore {
  readonly #store: KeyValueStore;
  readonly #listeners = new Set<(settings: DesktopSettings, changed: ReadonlySet<keyof DesktopSettings>) => void>();

  constructor(store: KeyValueStore) {
    this.#store = store;
  }

  get(): DesktopSettings {
    const raw = this.#store.get(KEY);
    const saved = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
    const shape = DESKTOP_SETTINGS.shape;
    const pick = <K extends keyof DesktopSettings>(key: K): DesktopSettings[K] => {
      const parsed = shape[key].safeParse(saved[key]);
      return parsed.success ? (parsed.data as DesktopSettings[K]) : DEFAULT_SETTINGS[key];
    };
    return { notifications: pick('notifications'), doNotDisturb: pick('doNotDisturb'), theme: pick('theme'), launchAtLogin: pick('launchAtLogin') };
  }

  update(change: Partial<DesktopSettings>): DesktopSettings {
    const before = this.get();
    const next = DESKTOP_SETTINGS.parse({ ...before, ...change });
    this.#store.set(KEY, next);
    const changed = new Set((Object.keys(next) as (keyof DesktopSettings)[]).filter((key) => next[key] !== before[key]));
    if (changed.size > 0) for (const listener of this.#listeners) listener(next, changed);
    return next;
  }

  onChange(listener: (settings: DesktopSettings, changed: ReadonlySet<keyof DesktopSettings>) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }
}
