import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inflateSync } from 'node:zlib';
import { ESLint } from 'eslint';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePathsIn, readBundle } from '../../../main/bundles/bundle-files.js';
import { APP_PAGE, appFile, DESKTOP_CSP } from '../../../main/electron/app-files.js';
import { localConfigFile, STARTER_CONFIG } from '../../../main/engine-host/local-config.js';
import { iconPng, pendingTooltip } from '../../../main/tray/tray-icon.js';
import { loadConfig } from '../../../proxy/config/load-config.js';

// The plain pieces around the window: which config the local engine starts from, what the app://
// scheme serves, which command-line arguments are bundles, the tray icon, and the lint rules
// that keep raw IPC inside the binding.

const root = resolve(import.meta.dirname, '..', '..', '..');
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-desktop-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the local config', () => {
  it('writes a starter config on first start that the gateway loads, with nothing exposed beyond loopback', async () => {
    const userData = join(dir, 'user-data');
    const first = await localConfigFile({ argv: ['electron', '.'], env: {}, cwd: dir, userData });
    expect(first).toEqual({ file: join(userData, 'sluice.yaml'), created: true });
    expect(((await stat(first.file)).mode & 0o777).toString(8)).toBe('600');
    const { config } = await loadConfig(first.file, { env: {} });
    expect(config.listen.postgres?.address).toEqual({ host: '127.0.0.1', port: 6432 });
    expect(config.resources).toEqual([]);
    // The second start keeps the user's edits.
    await writeFile(first.file, `${STARTER_CONFIG}# edited\n`);
    expect(await localConfigFile({ argv: [], env: {}, cwd: dir, userData })).toEqual({ file: first.file, created: false });
    expect(await readFile(first.file, 'utf8')).toContain('# edited');
  });

  it('takes --config or $SLUICE_CONFIG over the default, relative to the working directory', async () => {
    expect(await localConfigFile({ argv: ['electron', '.', '--config', 'gw.yaml'], env: { SLUICE_CONFIG: 'other.yaml' }, cwd: dir, userData: dir })).toEqual({ file: join(dir, 'gw.yaml'), created: false });
    expect(await localConfigFile({ argv: ['--config=/etc/sluice.yaml'], env: {}, cwd: dir, userData: dir })).toEqual({ file: '/etc/sluice.yaml', created: false });
    expect(await localConfigFile({ argv: [], env: { SLUICE_CONFIG: 'env.yaml' }, cwd: dir, userData: dir })).toEqual({ file: join(dir, 'env.yaml'), created: false });
  });
});

describe('the app:// scheme', () => {
  it('serves the built page with the desktop CSP, and nothing outside the renderer folder', async () => {
    const renderer = join(dir, 'console');
    await mkdir(join(renderer, 'assets'), { recursive: true });
    await writeFile(join(renderer, 'desktop.html'), '<!doctype html><title>Sluice</title>');
    await writeFile(join(renderer, 'assets', 'app.js'), 'export {}');
    await writeFile(join(dir, 'secret.txt'), 'canary-outside');

    const page = await appFile(renderer, APP_PAGE);
    expect(page).toMatchObject({ status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': DESKTOP_CSP } });
    expect((await appFile(renderer, 'sluice://app/assets/app.js')).headers['content-type']).toBe('text/javascript; charset=utf-8');
    for (const url of ['sluice://app/../secret.txt', 'sluice://app/%2e%2e/secret.txt', 'sluice://app/..%2fsecret.txt', 'sluice://other/desktop.html', 'sluice://app/missing.js']) {
      const answer = await appFile(renderer, url);
      expect(answer.status, url).toBe(404);
      expect(String(answer.body)).not.toContain('canary-outside');
    }
    expect(DESKTOP_CSP).toContain("script-src 'self'");
    expect(DESKTOP_CSP).toContain("default-src 'none'");
    expect(DESKTOP_CSP).not.toContain('unsafe-eval');
  });
});

describe('bundles handed over by the OS', () => {
  it('finds .sluice paths among the arguments and reads them', async () => {
    expect(bundlePathsIn(['/opt/Sluice/sluice', '--no-sandbox', '/home/dana/out-ab12.sluice', 'notes.txt', '/tmp/X.SLUICE'])).toEqual(['/home/dana/out-ab12.sluice', '/tmp/X.SLUICE']);
    const file = join(dir, 'out.sluice');
    await writeFile(file, 'manifest\n');
    expect(await readBundle(file)).toEqual({ name: 'out.sluice', bytes: new Uint8Array(Buffer.from('manifest\n')) });
    await expect(readBundle(join(dir, 'gone.sluice'))).rejects.toThrow('cannot open gone.sluice (ENOENT)');
  });
});

describe('the tray icon', () => {
  it('is a valid RGBA PNG of the size asked for, with a red dot while approvals wait', () => {
    const decode = (png: Buffer) => {
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
      const width = png.readUInt32BE(16);
      const idat = png.indexOf('IDAT');
      const length = png.readUInt32BE(idat - 4);
      return { width, pixels: inflateSync(png.subarray(idat + 4, idat + 4 + length)) };
    };
    const plain = decode(iconPng(32));
    const badged = decode(iconPng(32, { badge: true }));
    expect(plain.width).toBe(32);
    expect(plain.pixels).toHaveLength(32 * (1 + 32 * 4));
    // Top-right corner pixel area: transparent without the badge, red with it.
    const at = (pixels: Buffer, x: number, y: number) => [...pixels.subarray(y * 129 + 1 + x * 4, y * 129 + 1 + x * 4 + 4)];
    expect(at(plain.pixels, 26, 6)).toEqual([0, 0, 0, 0]);
    expect(at(badged.pixels, 26, 6)).toEqual([0xd9, 0x3b, 0x2f, 0xff]);
    expect(pendingTooltip(0)).toBe('Sluice: no approvals waiting');
    expect(pendingTooltip(1)).toBe('Sluice: 1 approval waiting');
    expect(pendingTooltip(4)).toBe('Sluice: 4 approvals waiting');
  });
});

describe('lint rules for the desktop app', () => {
  const eslint = new ESLint({ cwd: root });
  const messages = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: resolve(root, file) });
    return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-properties' || m.ruleId === 'sluice/layering').map((m) => m.message);
  };

  it('refuse raw ipcMain and ipcRenderer outside the binding', async () => {
    expect(await messages('main/electron/tray.ts', "import { ipcMain } from 'electron';\nexport const i = ipcMain;\n")).toEqual([expect.stringContaining('Raw IPC is for the binding only')]);
    const namespaced = await messages('main/electron/window.ts', "import * as electron from 'electron';\nexport const i = electron.ipcRenderer;\n");
    expect(namespaced.length).toBeGreaterThan(0);
    for (const message of namespaced) expect(message).toContain('Raw IPC is for the binding only');
    expect(await messages('main/electron/ipc-main.ts', "import { ipcMain } from 'electron';\nexport const i = ipcMain;\n")).toEqual([]);
    expect(await messages('main/preload/preload.ts', "import { ipcRenderer } from 'electron';\nexport const i = ipcRenderer;\n")).toEqual([]);
  });

  it('let the renderer import only types from main/ipc, and nothing else from main/', async () => {
    expect(await messages('renderer/src/desktop/x.ts', "import type { DesktopBridge } from '../../../main/ipc/bridge-types.js';\nexport type B = DesktopBridge;\n")).toEqual([]);
    expect(await messages('renderer/src/desktop/x.ts', "import { BRIDGE_NAME } from '../../../main/ipc/channels.js';\nexport const b = BRIDGE_NAME;\n")).toEqual([expect.stringContaining('only types from main/ipc/')]);
    expect(await messages('renderer/src/desktop/x.ts', "import type { EngineLink } from '../../../main/engine-host/engine-link.js';\nexport type L = EngineLink;\n")).toEqual([expect.stringContaining('renderer/ must not import main/')]);
  });

  it('pass on the real desktop code', async () => {
    const results = await eslint.lintFiles(['main', 'renderer/src/desktop', 'renderer/src/screens/settings']);
    expect(results.flatMap((r) => r.messages.map((m) => `${r.filePath}: ${m.message}`))).toEqual([]);
  });
});
