import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionRecord } from '../../proxy/api/api-contract.js';
import { eventually } from '../helpers/eventually.js';
import { findProgram } from '../helpers/external-program.js';
import { CHROMIUM, launchBrowser, openPage, screenshot } from './harness/browser.js';
import { startConsoleGateway, type ConsoleGateway } from './harness/console-gateway.js';
import { ConsoleShell } from './pages/console-page.js';
import { ReplayerPage } from './pages/replayer-page.js';
import { SessionsPage } from './pages/sessions-page.js';

// A real psql session through a real gateway (policy denies DDL, masking redacts emails),
// then the auditor's view of it in real Chromium: the sessions list, and the replayer playing
// it to the end in xterm and jumping to the denial.

const run = promisify(execFile);
const psql = findProgram('psql');

const SCRIPT = [
  'SELECT 1 AS one;',
  '\\! sleep 1',
  'SELECT id, email FROM customers ORDER BY id;',
  '\\! sleep 1',
  'DROP TABLE customers;',
  '\\! sleep 1',
  "SELECT count(*) AS customers_left FROM customers WHERE email LIKE '%@%';",
  '',
].join('\n');

describe.skipIf(!CHROMIUM || !psql)('sessions and the replayer (real psql, gateway and Chromium)', () => {
  let browser: Browser;
  let gw: ConsoleGateway;
  let session: SessionRecord;

  beforeAll(async () => {
    gw = await startConsoleGateway('e2e_sessions_replay', {
      policy: [
        '{ name: ci-read, match: { groups: [ci], resources: [testdb], kinds: [select] }, effect: allow }',
        '{ name: no-ddl, match: { groups: [ci], resources: [testdb], kinds: [ddl] }, effect: deny, reason: "schema changes go through migrations" }',
      ],
      masking: ['{ name: emails, detect: email, strategy: redact }'],
    });
    const admin = await gw.db.connect();
    await admin.query('CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL)');
    await admin.query("INSERT INTO customers VALUES (1, 'ada@example.com'), (2, 'grace@example.com')");
    await admin.end();

    const file = join(gw.gateway.dir, 'session.sql');
    await writeFile(file, SCRIPT);
    const env = { ...process.env, PGPASSWORD: gw.gateway.token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10', PGAPPNAME: 'psql' };
    const { stdout, stderr } = await run(psql!, ['-X', '-v', 'ON_ERROR_STOP=0', '-f', file, gw.gateway.url], { env });
    // What psql saw: the emails masked, the DROP refused, the table still there.
    expect(stdout).not.toContain('ada@example.com');
    expect(stderr).toContain('schema changes go through migrations');
    expect(stdout).toMatch(/customers_left\s*\n-+\n\s+2\n/);
    session = await eventually(async () => {
      await gw.gateway.engine.store.flush();
      const [latest] = await gw.gateway.engine.store.listSessions({ limit: 1 });
      if (latest?.status !== 'closed') throw new Error('the psql session has not ended yet');
      return latest;
    }, 10_000);
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  async function signedIn(colorScheme: 'light' | 'dark'): Promise<{ page: Page; errors: string[]; close: () => Promise<void> }> {
    const { page, errors, context } = await openPage(browser, { colorScheme });
    const shell = new ConsoleShell(page, gw.url);
    await shell.signIn(gw.gateway.staff.carol);
    await shell.open('Sessions');
    return { page, errors, close: () => context.close() };
  }

  it('lists the session for the auditor, with its counters and marks, and filters it by resource, marks and statement text', async () => {
    const { page, errors, close } = await signedIn('light');
    const sessions = new SessionsPage(page);
    await sessions.heading().waitFor();
    const row = sessions.row(session.id);
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(2, 9)).toEqual(['testdb', 'postgres', 'ci-jobpsql', 'closed', '4', '1', '4']);

    // Marks: what the gateway says happened in it.
    await expect.poll(() => row.locator('td.cell-marks').textContent()).toMatch(/denied.*masked/);

    await sessions.filterText('Resource', 'testdb');
    await expect.poll(() => page.url()).toContain('resource=testdb');
    await expect.poll(() => sessions.rows().count()).toBe(1);
    await screenshot(page, 'sessions-list-light');

    // Filters the gateway applies to the events: what happened, and text in the statements.
    await sessions.filterHad('a denial');
    await expect.poll(() => page.url()).toContain('had=denial');
    await expect.poll(() => sessions.rows().count()).toBe(1);
    await sessions.filterHad('an approval');
    await expect.poll(() => sessions.emptyState().textContent()).toBe('No sessions match these filters');
    await sessions.filterHad('an approval', false);
    await sessions.filterHad('a denial', false);
    await sessions.filterText('Statements containing', 'drop table');
    await expect.poll(() => page.url()).toContain('search=drop+table');
    await row.waitFor();
    await sessions.filterText('Statements containing', 'truncate');
    await expect.poll(() => sessions.emptyState().textContent()).toBe('No sessions match these filters');
    await sessions.filterText('Statements containing', '');
    await row.waitFor();

    // A session that starts while the list is open appears without a reload, with its counts once it ends.
    const env = { ...process.env, PGPASSWORD: gw.gateway.token, PGSSLMODE: 'disable', PGAPPNAME: 'live-check' };
    await run(psql!, ['-X', '-c', 'SELECT 42 AS answer', gw.gateway.url], { env });
    await expect.poll(() => sessions.rows().count(), { timeout: 5_000 }).toBe(2);
    const live = sessions.rows().first();
    expect(await live.textContent()).toContain('live-check');
    await expect.poll(() => live.locator('td').nth(6).textContent(), { timeout: 5_000 }).toBe('1');

    await sessions.filterText('Resource', 'other-db');
    await expect.poll(() => sessions.emptyState().textContent()).toBe('No sessions match these filters');
    // The filtered view is a link: reloading it shows the same.
    await page.reload();
    await expect.poll(() => sessions.emptyState().textContent()).toBe('No sessions match these filters');
    await expect.poll(() => page.getByLabel('Resource', { exact: true }).inputValue()).toBe('other-db');
    await sessions.clearFilters();
    await row.waitFor();
    await close();
    expect(errors).toEqual([]);
  });

  it('replays the session to its end at 16x in the terminal, and jumps to the denial with its reason', async () => {
    const { page, errors, close } = await signedIn('light');
    const sessions = new SessionsPage(page);
    await sessions.open(session.id);
    await expect.poll(() => page.url()).toContain(`#/sessions/${session.id}`);
    const player = new ReplayerPage(page);
    await player.slider().waitFor();
    await expect.poll(() => player.terminalText()).toContain(`-- session ${session.id}`);

    await player.setSpeed(16);
    await player.slider().focus();
    await page.keyboard.press('Space');
    await expect.poll(() => player.playButton().textContent(), { timeout: 10_000 }).toContain('Replay');
    await expect.poll(() => player.terminalText()).toMatch(/customers_left\n-+\n\s+2\n\(1 row\)/);
    const end = await player.terminalText();
    expect(end).toContain("testdb=> SELECT count(*) AS customers_left FROM customers WHERE email LIKE '%@%';");
    expect(end).toContain('-- session closed: 4 statements, 1 error');
    expect(end).not.toContain('ada@example.com');

    await player.slider().press('Home');
    await player.waitForMarkers();
    await player.nextMarker();
    await expect.poll(() => player.panel().locator('.event-summary').textContent()).toMatch(/^Masked 2 cells \(emails\)/);
    await player.nextMarker();
    await expect.poll(() => player.panel().locator('.event-summary').textContent()).toBe('Denied by rule no-ddl');
    await expect.poll(() => player.panel().textContent()).toContain('schema changes go through migrations');
    await expect.poll(() => player.terminalText()).toContain('-- denied by rule no-ddl: schema changes go through migrations');
    expect(await player.terminalText()).not.toContain('customers_left');
    await screenshot(page, 'replayer-denial-light');

    // Search highlights in the terminal and jumps to the match.
    await player.search('customers_left');
    await page.getByRole('searchbox', { name: 'Search in session' }).press('Enter');
    // One statement (its line and its result's column header): one match.
    await expect.poll(() => page.locator('#replay-search-status').textContent()).toBe('1 of 1');
    await expect.poll(() => player.terminalText()).toContain('customers_left');
    await close();
    expect(errors).toEqual([]);
  });

  it('reads well in the dark theme too', async () => {
    const { page, errors, close } = await signedIn('dark');
    const sessions = new SessionsPage(page);
    await sessions.row(session.id).waitFor();
    await screenshot(page, 'sessions-list-dark');
    await sessions.open(session.id);
    const player = new ReplayerPage(page);
    await player.waitForMarkers();
    await page.keyboard.press('n');
    await page.keyboard.press('n');
    await expect.poll(() => player.panel().locator('.event-summary').textContent()).toBe('Denied by rule no-ddl');
    await expect.poll(() => player.terminalText()).toContain('-- denied by rule no-ddl');
    // xterm takes its colours from the theme: the dark background, not xterm's default black.
    const background = await page.locator('.replay-terminal .xterm-viewport, .replay-terminal .xterm-screen').first().evaluate((element) => getComputedStyle(element.closest('.xterm')!).backgroundColor);
    expect(background).not.toBe('rgb(0, 0, 0)');
    await screenshot(page, 'replayer-denial-dark');
    await close();
    expect(errors).toEqual([]);
  });
});
