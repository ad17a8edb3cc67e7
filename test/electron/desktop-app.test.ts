import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron as electron, type ElectronApplication, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppInfo, DesktopBridge } from '../../main/ipc/bridge-types.js';
import { ApprovalsPage } from '../e2e/pages/approvals-page.js';
import { findProgram } from '../helpers/external-program.js';
import { startTestGateway, writeGatewayConfig, type GatewayConfigFile } from '../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../helpers/postgres.js';
import { runCli } from '../helpers/run-cli.js';
import { electronBinary, REPO_ROOT } from './electron-binary.js';

// The desktop app end to end in real Electron (Playwright's _electron): launch it on a config
// for a real PostgreSQL, hold a DELETE from a real psql at its local gateway and approve it in
// the window, and open an exported bundle the way the OS hands one over. Electron's binary
// cannot be downloaded on this team's machines, so here the test says so and skips; with an
// Electron binary (ELECTRON_PATH, or node_modules/electron/dist) it runs.

const ELECTRON = electronBinary();
if (!ELECTRON) process.stdout.write('skipped: no Electron binary (set ELECTRON_PATH, or install electron without ELECTRON_SKIP_BINARY_DOWNLOAD)\n');
const psql = ELECTRON ? findProgram('psql', ['/usr/lib/postgresql/18/bin/psql', '/usr/lib/postgresql/16/bin/psql']) : undefined;

const POLICY = [
  '{ name: ci-reads, match: { groups: [ci], resources: [testdb], kinds: [select] }, effect: allow }',
  '{ name: ci-deletes, match: { groups: [ci], resources: [testdb], kinds: [delete] }, effect: approve }',
];

describe.skipIf(!ELECTRON || !psql)('the desktop app (real Electron)', () => {
  let db: TestDatabase;
  let gateway: GatewayConfigFile;
  let userData: string;
  let app: ElectronApplication;
  let page: Page;

  beforeAll(async () => {
    // The app runs from the build (main, preload bundle, renderer).
    if (!['dist/main/electron/app-main.js', 'dist/main/preload.cjs', 'dist/console/desktop.html'].every((file) => existsSync(join(REPO_ROOT, file)))) {
      const built = spawnSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
      if (built.status !== 0) throw new Error('npm run build failed');
    }
    db = await createTestDatabase('desktop_e2e');
    const admin = await db.connect();
    await admin.query('CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 5)');
    gateway = await writeGatewayConfig(db, { policy: POLICY, tls: 'off' });
    userData = await mkdtemp(join(tmpdir(), 'sluice-desktop-e2e-'));
    app = await electron.launch({
      executablePath: ELECTRON!,
      args: [REPO_ROOT, ...(process.platform === 'linux' && process.getuid?.() === 0 ? ['--no-sandbox'] : [])],
      env: { ...process.env, SLUICE_CONFIG: gateway.configFile, SLUICE_USER_DATA: userData } as Record<string, string>,
    });
    page = await app.firstWindow();
    await page.waitForFunction(() => (globalThis as { sluice?: unknown }).sluice !== undefined);
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    if (userData) await rm(userData, { recursive: true, force: true });
    if (gateway) await rm(gateway.dir, { recursive: true, force: true });
    await db?.drop();
  });

  const info = () => page.evaluate(() => ((globalThis as unknown as { sluice: DesktopBridge }).sluice.desktop('app.info', {}) as Promise<{ ok: true; value: AppInfo }>));

  it('opens one hardened window on the app page, whose only way out is the `sluice` object', async () => {
    expect(page.url()).toBe('sluice://app/desktop.html#/approvals');
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
    // No Node in the page (sandbox, no nodeIntegration), and the preload's world is not the page's (contextIsolation).
    const globals = await page.evaluate(() => ({ require: typeof (globalThis as { require?: unknown }).require, process: typeof (globalThis as { process?: unknown }).process, sluice: Object.keys((globalThis as unknown as { sluice: object }).sluice).sort() }));
    expect(globals).toEqual({ require: 'undefined', process: 'undefined', sluice: ['call', 'desktop', 'onConnection', 'onNavigate', 'onOpenBundle', 'subscribe'] });
    // Navigation away and new windows are refused.
    await page.evaluate(() => (globalThis as unknown as { open(url: string): unknown }).open('https://example.com'));
    await page.evaluate(() => ((globalThis as unknown as { location: { href: string } }).location.href = 'https://example.com/'));
    await page.waitForTimeout(500);
    expect(page.url().startsWith('sluice://app/desktop.html')).toBe(true);
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows().length)).toBe(1);
  });

  it('holds a DELETE from psql at its local gateway until the approver approves it in the window', async () => {
    let engine = (await info()).value.engine;
    for (let tries = 0; engine.state === 'starting' && tries < 60; tries++) {
      await page.waitForTimeout(250);
      engine = (await info()).value.engine;
    }
    expect(engine).toMatchObject({ state: 'running', postgres: expect.stringMatching(/:\d+$/) });
    const child = spawn(psql!, ['-X', '-v', 'ON_ERROR_STOP=1', '-c', 'DELETE FROM orders WHERE id = 3', `postgres://ci@${engine.postgres}/testdb`], {
      env: { ...process.env, PGPASSWORD: gateway.token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' },
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));

    const inbox = new ApprovalsPage(page);
    await page.evaluate(() => ((globalThis as unknown as { location: { hash: string } }).location.hash = '#/approvals'));
    await inbox.waitForRequest('DELETE FROM orders WHERE id = 3');
    await inbox.select('DELETE FROM orders WHERE id = 3');
    expect(await inbox.detail().getByText('This computer').count()).toBeGreaterThan(0);
    await inbox.approve();
    expect(await exited).toBe(0);
    expect(out).toContain('DELETE 1');
  });

  it('opens a bundle the OS hands over (a double-clicked .sluice file) and verifies it with no gateway', async () => {
    // A bundle exported by the real CLI from another gateway's recording.
    const otherDb = await createTestDatabase('desktop_e2e_bundle');
    const other = await startTestGateway(otherDb, { tls: 'off' });
    const client = await other.connect();
    await client.query('SELECT 1');
    await client.end();
    const sessionId = (await other.engine.store.listSessions({ limit: 1 }))[0]!.id;
    await other.engine.close();
    const file = join(userData, 'handed-over.sluice');
    const exported = await runCli(['export', '--config', other.configFile, '--session', sessionId, '-o', file], { env: {} });
    expect(exported.code).toBe(0);

    // What the OS does for a second launch with a file: the running instance gets its argv.
    await app.evaluate(({ app: electronApp }, path) => electronApp.emit('second-instance', {}, ['sluice', path], '/'), file);
    const verification = page.getByTestId('verification');
    await verification.waitFor({ timeout: 30_000 });
    expect(await verification.getAttribute('data-verified')).toBe('true');
    expect(page.url()).toContain('#/bundle');
    await other.close();
    await otherDb.drop();
  });
});
