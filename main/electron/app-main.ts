import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, dialog, nativeTheme, protocol, type BrowserWindow } from 'electron';
import type { ApiEventMessage } from '../../proxy/api/api-contract.js';
import { createLogger } from '../../proxy/engine/logger.js';
import { bundlePathsIn, readBundle } from '../bundles/bundle-files.js';
import { localConfigFile } from '../engine-host/local-config.js';
import { checkGateway } from '../gateways/gateway-check.js';
import { GatewayList } from '../gateways/gateway-list.js';
import { GatewayPool } from '../gateways/gateway-pool.js';
import { LOCAL_SOURCE_ID, MergedInbox } from '../inbox/merged-inbox.js';
import { CONNECTION_CHANNEL, EVENT_CHANNEL, NAVIGATE_CHANNEL, OPEN_BUNDLE_CHANNEL } from '../ipc/channels.js';
import type { AppInfo, DesktopSettings, LocalEngineInfo } from '../ipc/desktop-contract.js';
import { DesktopFailure, EventPush } from '../ipc/ipc-binding.js';
import { ApprovalNotifier } from '../notify/notifier.js';
import { SettingsStore } from '../settings/settings-store.js';
import { OPERATOR_ROLES, operatorIdentity, osUsername } from '../engine-host/operator.js';
import { rolesOf } from '../../proxy/api/api-roles.js';
import { installAppMenu } from './app-menu.js';
import { APP_HOST, APP_SCHEME, appFile } from './app-files.js';
import { registerIpc } from './ipc-main.js';
import { forkLocalEngine } from './local-engine.js';
import { createMainWindow, hardenSession } from './main-window.js';
import { nativeNotificationSink } from './native-notifications.js';
import { openAppStore, openVault } from './stores.js';
import { createPendingIndicator } from './tray.js';

// The Electron main process: thin glue. It wires the plain modules (engine link, merged inbox,
// notifier, gateway list, IPC binding) to Electron's window, menu, tray and notifications.

const here = dirname(fileURLToPath(import.meta.url)); // dist/main/electron
const PRELOAD = join(here, '..', 'preload.cjs');
const ENGINE_ENTRY = join(here, '..', 'engine-host', 'utility-entry.js');
const RENDERER_DIR = join(here, '..', '..', 'console');
const log = createLogger((line) => process.stderr.write(line));

// Tests and side-by-side installs keep their own settings, keys and local gateway.
if (process.env.SLUICE_USER_DATA) app.setPath('userData', process.env.SLUICE_USER_DATA);

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

const pendingBundles: string[] = bundlePathsIn(process.argv.slice(1));
let window: BrowserWindow | undefined;
let pageReady = false;
/** Set by start(): the window stopped listening (closed, crashed, reloading). */
let windowGone = (): void => undefined;

if (!app.requestSingleInstanceLock()) {
  // Another instance runs: it gets our argv (a double-clicked bundle) through 'second-instance'.
  app.quit();
} else {
  app.on('second-instance', (_event, argv) => {
    pendingBundles.push(...bundlePathsIn(argv));
    showWindow();
  });
  // macOS hands files over with an event, before and after 'ready'.
  app.on('open-file', (event, path) => {
    event.preventDefault();
    pendingBundles.push(path);
    if (app.isReady()) showWindow();
  });
  app.whenReady().then(start, (error: unknown) => {
    log.error('the desktop app failed to start', { reason: error instanceof Error ? error.message : String(error) });
    app.exit(1);
  });
}

function showWindow(hash?: string): void {
  if (!window || window.isDestroyed()) {
    pageReady = false;
    window = createMainWindow(PRELOAD);
    window.webContents.on('did-finish-load', () => {
      pageReady = true;
      if (hash) send(NAVIGATE_CHANNEL, hash);
      void deliverBundles();
    });
    window.webContents.on('render-process-gone', () => windowGone());
    window.webContents.on('did-start-loading', () => windowGone());
    window.on('closed', () => {
      window = undefined;
      windowGone();
    });
  } else {
    if (window.isMinimized()) window.restore();
    window.show();
    window.focus();
    if (hash) send(NAVIGATE_CHANNEL, hash);
    void deliverBundles();
  }
}

function send(channel: string, payload: unknown): void {
  if (window && !window.isDestroyed() && pageReady) window.webContents.send(channel, payload);
}

async function deliverBundles(): Promise<void> {
  if (!pageReady) return;
  for (const path of pendingBundles.splice(0)) {
    try {
      send(OPEN_BUNDLE_CHANNEL, await readBundle(path));
      send(NAVIGATE_CHANNEL, '#/bundle');
    } catch (error) {
      await dialog.showMessageBox({ type: 'error', title: 'Open bundle', message: 'The bundle could not be opened', detail: (error as Error).message });
    }
  }
}

async function start(): Promise<void> {
  protocol.handle(APP_SCHEME, async (request) => {
    const answer = await appFile(RENDERER_DIR, request.url);
    return new Response(typeof answer.body === 'string' ? answer.body : new Uint8Array(answer.body), { status: answer.status, headers: answer.headers });
  });
  hardenSession();

  const store = openAppStore();
  const settings = new SettingsStore(store);
  const vault = openVault();
  const gateways = new GatewayList(store, vault);
  const config = await localConfigFile({ argv: process.argv, env: process.env, cwd: process.cwd(), userData: app.getPath('userData') });
  if (config.created) log.info('wrote the starter config for the local gateway', { file: config.file });

  const engine = forkLocalEngine(ENGINE_ENTRY, config.file);
  const operator = operatorIdentity(osUsername());
  const operatorRoles = rolesOf(operator, OPERATOR_ROLES);
  const push = new EventPush(operatorRoles, (message) => send(EVENT_CHANNEL, message));
  const pool = new GatewayPool({ list: gateways, log, onEvent: (id, message) => deliver(id, message), onRemoved: (id) => inbox.forget(id) });
  const inbox = new MergedInbox({ local: { id: LOCAL_SOURCE_ID, label: 'This computer', call: (method, input) => engine.call(method, input) }, remotes: () => pool.gateways,
    operator: () => ({ subject: operator.subject, issuer: operator.issuer, method: operator.method, groups: operator.groups, roles: [...operatorRoles] }),
  });
  const notifier = new ApprovalNotifier({
    sink: nativeNotificationSink((target) => showWindow('inbox' in target ? '#/approvals' : `#/approvals/${encodeURIComponent(target.approvalId)}`)),
    settings: () => settings.get(),
    windowFocused: () => window?.isFocused() === true,
  });
  const indicator = createPendingIndicator({ openInbox: () => showWindow('#/approvals'), quit: () => app.quit() });
  inbox.onPendingChange((pending) => indicator.update(pending));

  function deliver(sourceId: string, message: ApiEventMessage): void {
    const tagged = inbox.noteEvent(sourceId, message);
    if (!tagged) return;
    notifier.handle(tagged);
    push.push(tagged);
  }
  engine.onEvent((message) => deliver(LOCAL_SOURCE_ID, message));
  const connection = (info: LocalEngineInfo) => (info.state === 'running' ? 'live' : info.state === 'starting' ? 'connecting' : 'offline');
  engine.onState((info) => {
    send(CONNECTION_CHANNEL, connection(info));
    if (info.state === 'running') void refreshPending();
    if (info.state === 'failed') log.error('local gateway not running', { reason: info.message ?? 'unknown' });
  });
  // Events cover changes; a periodic list catches expiries and anything missed while a gateway was away.
  const refreshPending = () => inbox.call('approvals.list', { status: 'pending', limit: 1_000 });
  setInterval(() => void refreshPending(), 30_000).unref();

  const applySettings = (current: DesktopSettings) => {
    nativeTheme.themeSource = current.theme;
    if (process.platform === 'darwin' || process.platform === 'win32') app.setLoginItemSettings({ openAtLogin: current.launchAtLogin });
  };
  applySettings(settings.get());
  settings.onChange((current) => applySettings(current));

  const info = (): AppInfo => ({
    name: 'Sluice',
    version: app.getVersion(),
    electron: process.versions.electron ?? 'unknown',
    platform: process.platform,
    engine: engine.info,
    secretStorage: vault.info(),
    launchAtLoginSupported: process.platform === 'darwin' || process.platform === 'win32',
  });

  registerIpc({
    window: { webContentsId: () => (window && !window.isDestroyed() ? window.webContents.id : undefined), protocol: `${APP_SCHEME}:`, host: APP_HOST },
    engine: inbox,
    desktop: {
      'app.info': async () => info(),
      'settings.get': async () => settings.get(),
      'settings.update': async (change) => settings.update(change),
      'gateways.list': async () => pool.views(),
      'gateways.add': async (input) => {
        const { label, url, token, fingerprint } = input;
        await checkGateway({ label, url, token, ...(fingerprint !== undefined && { fingerprint: fingerprint.toUpperCase() }) });
        const record = gateways.add({ label, url, token, ...(fingerprint !== undefined && { fingerprint }) });
        pool.sync();
        const view = pool.views().find((candidate) => candidate.id === record.id);
        if (!view) throw new DesktopFailure('not_found', 'the gateway was added but is no longer in the list');
        void refreshPending();
        return view;
      },
      'gateways.remove': async ({ id }) => {
        const removed = gateways.remove(id);
        pool.sync();
        return { removed };
      },
    },
    onSubscribe: (on) => {
      engine.wantEvents(on);
      push.setSubscribed(on);
      send(CONNECTION_CHANNEL, connection(engine.info));
    },
    onRefused: (channel, sender) => log.warn('ipc call refused: not from the app window', { channel, frame: sender.frameUrl?.slice(0, 200) }),
    onError: (channel, error) => log.error('desktop method failed', { channel, reason: error instanceof Error ? error.message : String(error) }),
  });

  windowGone = () => {
    push.setSubscribed(false);
    engine.wantEvents(false);
  };

  installAppMenu({
    openBundle: () => void chooseBundle(),
    show: (hash) => showWindow(hash),
    engine: () => engine.info,
  });
  pool.sync();
  showWindow();

  // Closing the window keeps the app (and the local gateway) running in the tray; Quit ends both.
  // Without a tray (some Linux desktops) there would be no way back, so the app quits.
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin' && !indicator.inTray) app.quit();
  });
  app.on('activate', () => showWindow());
  let quitting = false;
  app.on('before-quit', (event) => {
    if (quitting) return;
    event.preventDefault();
    quitting = true;
    notifier.dispose();
    pool.close();
    // Held statements end as cancelled and the audit store is flushed before the app exits.
    const stopped = Promise.race([engine.stop(), new Promise<void>((resolve) => setTimeout(resolve, 10_000))]);
    void stopped.then(() => {
      indicator.destroy();
      app.exit(0);
    });
  });
}

async function chooseBundle(): Promise<void> {
  const options = { title: 'Open bundle', properties: ['openFile' as const], filters: [{ name: 'Sluice audit bundles', extensions: ['sluice'] }] };
  const chosen = window ? await dialog.showOpenDialog(window, options) : await dialog.showOpenDialog(options);
  if (chosen.canceled) return;
  pendingBundles.push(...chosen.filePaths);
  showWindow();
}
