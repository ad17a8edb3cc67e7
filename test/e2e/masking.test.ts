import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../helpers/external-program.js';
import { CHROMIUM, launchBrowser, openPage, screenshot } from './harness/browser.js';
import { startConsoleGateway, type ConsoleGateway } from './harness/console-gateway.js';
import { ConsoleShell } from './pages/console-page.js';
import { MaskingPage } from './pages/masking-page.js';

// The masking rule editor in real Chromium against a real gateway and PostgreSQL: a rule edited
// in the form changes the preview the engine computes, and saving rewrites the gateway's config
// so the next psql session sees the new masking without a restart.

const psql = findProgram('psql');
const run = promisify(execFile);

const SCHEMA = `
  CREATE TABLE customers (id int PRIMARY KEY, name text, email text, card text, note text);
  INSERT INTO customers VALUES
    (1, 'Ada Lovelace', 'ada@example.com', '4111 1111 1111 1111', 'call ada.l@example.org about the refund'),
    (2, 'Alan Turing', 'alan@example.org', '5555 5555 5555 4444', 'nothing to see');
`;

describe.skipIf(!CHROMIUM)('the masking rule editor (real Chromium against sluice serve)', () => {
  let browser: Browser;
  let gw: ConsoleGateway;

  beforeAll(async () => {
    gw = await startConsoleGateway('e2e_masking', {
      masking: ['{ name: emails, detect: email, strategy: redact }', '{ name: cards, columns: [public.customers.card], strategy: hash, except_groups: [dba] }'],
      policy: [
        '{ name: ci-read, match: { groups: [ci], resources: [testdb], kinds: [select] }, effect: allow }',
        '{ name: dba-read, match: { groups: [dba], resources: [testdb], kinds: [select] }, effect: allow }',
      ],
    });
    const direct = await gw.db.connect();
    await direct.query(SCHEMA);
    await direct.end();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('previews a rule edited in the form, then saves it to the config file for the next psql session', async () => {
    const { page, errors, context } = await openPage(browser);
    const shell = new ConsoleShell(page, gw.url);
    await shell.signIn(gw.gateway.dbaToken);
    await shell.open('Masking rules');
    const masking = new MaskingPage(page);
    await masking.ready();

    // As the file says: emails redacted wherever they appear.
    await expect.poll(() => masking.cellValue(0, 'email')).toBe('[redacted:email]');
    expect(await masking.cellRules(0, 'email')).toBe('emails');
    expect(await masking.cellValue(0, 'notes')).toBe('call [redacted:email] about the invoice');
    expect(await masking.cellValue(0, 'card')).toBe('not masked');

    // Edit: partial, and cards too. The engine's preview follows the draft.
    await masking.select('emails');
    await masking.setStrategy('partial');
    await masking.toggleDetector('card');
    // Written in the file's own style: one flow mapping per rule.
    expect(await masking.yaml()).toContain('  - { name: emails, detect: [ email, card ], strategy: partial }\n');
    await expect.poll(() => masking.cellValue(0, 'email')).toBe('****@example.com');
    await expect.poll(() => masking.cellValue(0, 'card')).toBe('**** **** **** 1111');
    expect(await masking.cellRules(0, 'card')).toBe('emails');
    await screenshot(page, 'masking-editor-light');

    // A live query: the rows PostgreSQL returns, masked by the draft (previewed for a caller in no group).
    await masking.previewLiveQuery(gw.gateway.resource, 'SELECT name, email, card FROM customers ORDER BY id');
    await expect.poll(() => masking.cellValue(1, 'email')).toBe('****@example.org');
    expect(await masking.cellValue(1, 'name')).toBe('Alan Turing');
    await screenshot(page, 'masking-live-query-light');
    await masking.useSampleRows();

    // Save: the dialog says what changes; the file is rewritten with a backup.
    const said = await masking.save(() => screenshot(page, 'masking-save-dialog-light'));
    expect(said).toMatch(/change\s*emails/);
    await expect.poll(async () => (await masking.savedNotice().textContent()) ?? '').toContain('New sessions use these rules now');
    expect(await masking.savedNotice().textContent()).toMatch(/sluice\.yaml\.[\dT:.Z-]+\.bak/);
    const file = await readFile(gw.gateway.configFile, 'utf8');
    // The section keeps the file's style (one flow mapping per rule); the rest of the file is as it was.
    expect(file).toContain('masking:\n  - { name: emails, detect: [ email, card ], strategy: partial }\n  - { name: cards, columns: [ public.customers.card ], strategy: hash, except_groups: [ dba ] }\naudit:');
    expect(file).toContain('password: ${file:upstream-password}');
    await screenshot(page, 'masking-saved-light');

    await context.close();
    await shell.expectNoErrors(errors);
  });

  it.skipIf(!psql)('a new psql session sees the saved masking', async () => {
    // The previous test saved `emails` as partial over email and card; the column rule on card wins there.
    const { stdout } = await run(psql!, [gw.gateway.url, '-XAtc', 'SELECT email, note FROM customers ORDER BY id'], { env: { ...process.env, PGPASSWORD: gw.gateway.token } });
    expect(stdout.trim().split('\n')).toEqual(['****@example.com|call ****@example.org about the refund', '****@example.org|nothing to see']);
  });

  it('reads well in dark mode with preview highlights', async () => {
    const { page, errors, context } = await openPage(browser, { colorScheme: 'dark' });
    const shell = new ConsoleShell(page, gw.url);
    await shell.signIn(gw.gateway.dbaToken);
    await shell.open('Masking rules');
    const masking = new MaskingPage(page);
    await masking.ready();
    await masking.select('cards');
    await page.getByLabel('Column card: source column').fill('public.customers.card');
    await expect.poll(() => masking.cellRules(0, 'card')).toBe('cards');
    await page.getByRole('radio', { name: 'Pattern' }).click();
    await page.getByLabel('RE2 pattern').fill('ACME-(\\d+');
    await expect.poll(() => page.getByLabel('RE2 pattern').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'masking-editor-dark');
    await context.close();
    // The preview's refusal of the bad pattern is a 400 the browser logs; nothing else may fail.
    await shell.expectNoErrors(errors.filter((line) => !line.includes('status of 400')));
  });
});
