import { app, dialog, Menu, type BaseWindow, type MenuItemConstructorOptions } from 'electron';
import type { LocalEngineInfo } from '../ipc/desktop-contract.js';

// The application menu: File > Open bundle, the screens, the usual Edit/View/Window, and About
// (with the engine's version and where the local gateway listens).

export interface MenuActions {
  readonly openBundle: () => void;
  readonly show: (hash: string) => void;
  readonly engine: () => LocalEngineInfo;
}

export function installAppMenu(actions: MenuActions): void {
  const mac = process.platform === 'darwin';
  const screen = (label: string, hash: string, key: string): MenuItemConstructorOptions => ({ label, accelerator: `Alt+${key}`, click: () => actions.show(hash) });
  const template: MenuItemConstructorOptions[] = [
    ...(mac ? [{ label: app.name, submenu: [{ label: 'About Sluice', click: () => void showAbout(actions.engine()) }, { type: 'separator' }, { label: 'Settings…', accelerator: 'Cmd+,', click: () => actions.show('#/settings') }, { type: 'separator' }, { role: 'hide' }, { role: 'hideOthers' }, { type: 'separator' }, { role: 'quit' }] } satisfies MenuItemConstructorOptions] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open bundle…', accelerator: 'CmdOrCtrl+O', click: actions.openBundle },
        ...(mac ? [] : [{ type: 'separator' } as const, { label: 'Settings', accelerator: 'Ctrl+,', click: () => actions.show('#/settings') }]),
        { type: 'separator' },
        mac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    { role: 'editMenu' },
    {
      label: 'Go',
      submenu: [screen('Approvals', '#/approvals', '1'), screen('Sessions', '#/sessions', '2'), screen('Masking rules', '#/masking', '3'), screen('Policy & resources', '#/policy', '4'), screen('Open bundle', '#/bundle', '5')],
    },
    { label: 'View', submenu: [{ role: 'resetZoom' }, { role: 'zoomIn' }, { role: 'zoomOut' }, { type: 'separator' }, { role: 'togglefullscreen' }, ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' } as const])] },
    { role: 'windowMenu' },
    ...(mac ? [] : [{ label: 'Help', submenu: [{ label: 'About Sluice', click: () => void showAbout(actions.engine()) }] } satisfies MenuItemConstructorOptions]),
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

export function aboutText(engine: LocalEngineInfo): string {
  const where = engine.state === 'running' ? (engine.postgres ? `PostgreSQL listener on ${engine.postgres}` : 'running, no PostgreSQL listener configured') : `${engine.state}${engine.message ? `: ${engine.message}` : ''}`;
  return [
    `Engine ${app.getVersion()} · Electron ${process.versions.electron} · Chromium ${process.versions.chrome} · Node ${process.versions.node}`,
    '',
    `Local gateway: ${where}`,
    `Config: ${engine.configFile}`,
  ].join('\n');
}

async function showAbout(engine: LocalEngineInfo, parent?: BaseWindow): Promise<void> {
  const options = { type: 'info' as const, title: 'About Sluice', message: `Sluice ${app.getVersion()}`, detail: aboutText(engine), buttons: ['OK'] };
  await (parent ? dialog.showMessageBox(parent, options) : dialog.showMessageBox(options));
}
