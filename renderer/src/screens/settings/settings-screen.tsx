import './settings.css';
import { useCallback, useEffect, useState } from 'react';
import type { AppInfo, DesktopSettings } from '../../../../main/ipc/bridge-types.js';
import type { ApiError } from '../../../../proxy/api/api-contract.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import { GatewaysSection } from './gateways-section.js';
import { LocalGatewaySection } from './local-gateway-section.js';
import type { SettingsClient } from './settings-client.js';

// Settings (desktop app only): the local gateway, notifications and do-not-disturb, remote
// gateways, theme and launch at login. Every change is saved at once by the main process.

const THEMES: readonly { value: DesktopSettings['theme']; label: string }[] = [
  { value: 'system', label: 'Follow the system' },
  { value: 'light', label: 'Light' },
  { value: 'dark', label: 'Dark' },
];

export function SettingsScreen({ client }: { readonly client: SettingsClient }) {
  const [info, setInfo] = useState<AppInfo | undefined>();
  const [settings, setSettings] = useState<DesktopSettings | undefined>();
  const [error, setError] = useState<ApiError | undefined>();

  const load = useCallback(async () => {
    const [nextInfo, nextSettings] = await Promise.all([client.desktop('app.info', {}), client.desktop('settings.get', {})]);
    if (nextInfo.ok) setInfo(nextInfo.value);
    if (nextSettings.ok) setSettings(nextSettings.value);
    setError(!nextInfo.ok ? nextInfo.error : !nextSettings.ok ? nextSettings.error : undefined);
  }, [client]);

  useEffect(() => {
    void load();
    // The local gateway may still be starting: its state shows when it changes.
    const timer = setInterval(() => void client.desktop('app.info', {}).then((result) => result.ok && setInfo(result.value)), 5_000);
    return () => clearInterval(timer);
  }, [client, load]);

  const change = async (patch: Partial<DesktopSettings>) => {
    if (!settings) return;
    setSettings({ ...settings, ...patch });
    const result = await client.desktop('settings.update', patch);
    if (result.ok) setSettings(result.value);
    else {
      setError(result.error);
      void load();
    }
  };

  return (
    <div className="settings-screen">
      <h1>Settings</h1>
      {error && <ErrorBanner error={error} action="Settings" />}
      {info && <LocalGatewaySection info={info} />}

      {settings && (
        <section className="card settings-section" aria-labelledby="settings-notifications">
          <h2 id="settings-notifications">Notifications</h2>
          <label className="settings-toggle">
            <input type="checkbox" checked={settings.notifications} onChange={(event) => void change({ notifications: event.target.checked })} />
            <span>
              Notify me of new approval requests
              <span className="muted settings-hint">One notification per request with its resource, operation and caller; many at once are grouped.</span>
            </span>
          </label>
          <label className="settings-toggle">
            <input type="checkbox" checked={settings.doNotDisturb} disabled={!settings.notifications} onChange={(event) => void change({ doNotDisturb: event.target.checked })} />
            <span>
              Do not disturb
              <span className="muted settings-hint">No notifications for now; the tray and the Approvals tab still count what waits.</span>
            </span>
          </label>
        </section>
      )}

      <GatewaysSection client={client} secretStorage={info?.secretStorage} />

      {settings && (
        <section className="card settings-section" aria-labelledby="settings-appearance">
          <h2 id="settings-appearance">Appearance and startup</h2>
          <fieldset className="settings-themes">
            <legend>Theme</legend>
            {THEMES.map((theme) => (
              <label key={theme.value} className="settings-radio">
                <input type="radio" name="theme" value={theme.value} checked={settings.theme === theme.value} onChange={() => void change({ theme: theme.value })} />
                {theme.label}
              </label>
            ))}
          </fieldset>
          <label className="settings-toggle">
            <input type="checkbox" checked={settings.launchAtLogin} disabled={info?.launchAtLoginSupported === false} onChange={(event) => void change({ launchAtLogin: event.target.checked })} />
            <span>
              Open Sluice when I log in
              {info?.launchAtLoginSupported === false && <span className="muted settings-hint">Not available on {info.platform}: add Sluice to your desktop's autostart instead.</span>}
            </span>
          </label>
        </section>
      )}

      {info && (
        <p className="muted settings-about">
          Sluice {info.version} · Electron {info.electron} · {info.platform}
        </p>
      )}
    </div>
  );
}
