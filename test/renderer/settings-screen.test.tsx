// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import type { AppInfo, DesktopInput, DesktopMethodName, DesktopOutput, DesktopSettings, GatewayView } from '../../main/ipc/bridge-types.js';
import type { ApiResult } from '../../proxy/api/api-contract.js';
import type { SettingsClient } from '../../renderer/src/screens/settings/settings-client.js';
import { SettingsScreen } from '../../renderer/src/screens/settings/settings-screen.js';

// The desktop Settings screen against an in-memory desktop: settings change as the main process
// would keep them, gateways.add refuses a token the way the real check does, and the plain-text
// storage warning shows where the OS has no keyring.

const PLAIN_WARNING = 'No system keyring is available, so gateway tokens are stored in plain text.';

class FakeDesktop implements SettingsClient {
  settings: DesktopSettings = { notifications: true, doNotDisturb: false, theme: 'system', launchAtLogin: false };
  gateways: GatewayView[] = [];
  readonly calls: { method: string; input: unknown }[] = [];
  keyring = true;
  launchAtLoginSupported = false;

  info(): AppInfo {
    return {
      name: 'Sluice',
      version: '0.1.0',
      electron: '38.8.6',
      platform: 'linux',
      engine: { state: 'running', configFile: '/home/dana/.config/Sluice/sluice.yaml', postgres: '127.0.0.1:6432' },
      secretStorage: this.keyring ? { encrypted: true, backend: 'gnome_libsecret' } : { encrypted: false, backend: 'basic_text', warning: PLAIN_WARNING },
      launchAtLoginSupported: this.launchAtLoginSupported,
    };
  }

  async desktop<N extends DesktopMethodName>(method: N, input: DesktopInput<N>): Promise<ApiResult<DesktopOutput<N>>> {
    this.calls.push({ method, input });
    const ok = (value: unknown) => ({ ok: true, value }) as ApiResult<DesktopOutput<N>>;
    switch (method) {
      case 'app.info':
        return ok(this.info());
      case 'settings.get':
        return ok(this.settings);
      case 'settings.update':
        this.settings = { ...this.settings, ...(input as Partial<DesktopSettings>) };
        return ok(this.settings);
      case 'gateways.list':
        return ok(this.gateways);
      case 'gateways.add': {
        const add = input as DesktopInput<'gateways.add'>;
        if (add.token !== 'good-token') return { ok: false, error: { code: 'unauthenticated', message: `${add.url} does not accept this token (unknown, expired or revoked)` } };
        const view: GatewayView = { id: `g${this.gateways.length + 1}`, label: add.label, url: add.url, ...(add.fingerprint && { fingerprint: add.fingerprint }), tokenStorage: this.keyring ? 'encrypted' : 'plain-text', state: 'live' };
        this.gateways = [...this.gateways, view];
        return ok(view);
      }
      case 'gateways.remove':
        this.gateways = this.gateways.filter((gateway) => gateway.id !== (input as { id: string }).id);
        return ok({ removed: true });
    }
    return { ok: false, error: { code: 'not_found', message: 'no such method' } };
  }
}

afterEach(cleanup);

describe('the settings screen', () => {
  it('shows where the local gateway listens and which config it reads', async () => {
    render(<SettingsScreen client={new FakeDesktop()} />);
    const local = await screen.findByRole('region', { name: 'Local gateway' });
    expect(within(local).getByText('Running')).toBeTruthy();
    expect(within(local).getByText('psql "postgres://ANY@127.0.0.1:6432/RESOURCE"')).toBeTruthy();
    expect(within(local).getByText('/home/dana/.config/Sluice/sluice.yaml')).toBeTruthy();
  });

  it('turns notifications and do-not-disturb on and off, and do-not-disturb needs notifications', async () => {
    const desktop = new FakeDesktop();
    const user = userEvent.setup();
    render(<SettingsScreen client={desktop} />);
    const dnd = await screen.findByRole('checkbox', { name: /Do not disturb/ });
    await user.click(dnd);
    await waitFor(() => expect(desktop.settings.doNotDisturb).toBe(true));
    await user.click(screen.getByRole('checkbox', { name: /Notify me of new approval requests/ }));
    await waitFor(() => expect(desktop.settings.notifications).toBe(false));
    expect((screen.getByRole('checkbox', { name: /Do not disturb/ }) as HTMLInputElement).disabled).toBe(true);
  });

  it('changes the theme, and explains why launch at login is not offered on Linux', async () => {
    const desktop = new FakeDesktop();
    const user = userEvent.setup();
    render(<SettingsScreen client={desktop} />);
    await user.click(await screen.findByRole('radio', { name: 'Dark' }));
    await waitFor(() => expect(desktop.settings.theme).toBe('dark'));
    const login = screen.getByRole('checkbox', { name: /Open Sluice when I log in/ }) as HTMLInputElement;
    expect(login.disabled).toBe(true);
    expect(screen.getByText(/Not available on linux/)).toBeTruthy();
  });

  it('adds a remote gateway once it accepts the token, and removes it', async () => {
    const desktop = new FakeDesktop();
    const user = userEvent.setup();
    render(<SettingsScreen client={desktop} />);
    await screen.findByText('No remote gateways yet.');
    await user.type(screen.getByLabelText('Name'), 'prod-eu');
    await user.type(screen.getByLabelText('URL'), 'https://gw.example:7070');
    await user.type(screen.getByLabelText('Approver token'), 'wrong-token');
    await user.click(screen.getByRole('button', { name: 'Add gateway' }));
    expect((await screen.findByRole('alert')).textContent).toContain('does not accept this token');
    expect(desktop.gateways).toEqual([]);

    await user.clear(screen.getByLabelText('Approver token'));
    await user.type(screen.getByLabelText('Approver token'), 'good-token');
    await user.type(screen.getByLabelText(/Certificate fingerprint/), `${'AB:'.repeat(31)}AB`);
    await user.click(screen.getByRole('button', { name: 'Add gateway' }));
    const list = await screen.findByRole('list', { name: 'Remote gateways' });
    expect(within(list).getByText('prod-eu')).toBeTruthy();
    expect(within(list).getByText('Connected')).toBeTruthy();
    expect(within(list).getByText(/encrypted by the system keyring/)).toBeTruthy();
    // The form is emptied: the token does not linger in the page.
    expect((screen.getByLabelText('Approver token') as HTMLInputElement).value).toBe('');
    expect(desktop.calls.find((call) => call.method === 'gateways.add' && (call.input as { token: string }).token === 'good-token')?.input).toMatchObject({ fingerprint: `${'AB:'.repeat(31)}AB` });

    await user.click(within(list).getByRole('button', { name: 'Remove prod-eu' }));
    await screen.findByText('No remote gateways yet.');
  });

  it('warns visibly, before a token is typed, where tokens would be stored in plain text', async () => {
    const desktop = new FakeDesktop();
    desktop.keyring = false;
    desktop.gateways = [{ id: 'g1', label: 'dev', url: 'https://dev.example', tokenStorage: 'plain-text', state: 'offline', problem: 'connect ECONNREFUSED 10.0.0.5:7070' }];
    render(<SettingsScreen client={desktop} />);
    const warning = await screen.findByText(/Tokens are stored in plain text\./);
    expect(warning.closest('[role="alert"]')?.textContent).toContain(PLAIN_WARNING);
    expect(screen.getByText('This token will be stored in plain text (no system keyring).')).toBeTruthy();
    expect(screen.getByText('stored in plain text')).toBeTruthy();
    expect(screen.getByText('Not connected')).toBeTruthy();
    expect(screen.getByText('connect ECONNREFUSED 10.0.0.5:7070')).toBeTruthy();
  });
});
