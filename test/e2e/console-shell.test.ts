import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, launchBrowser, openPage } from './harness/browser.js';
import { startConsoleGateway, type ConsoleGateway } from './harness/console-gateway.js';
import { ConsoleShell } from './pages/console-page.js';

describe.skipIf(!CHROMIUM)('the web console shell (real Chromium against sluice serve)', () => {
  let browser: Browser;
  let gw: ConsoleGateway;

  beforeAll(async () => {
    gw = await startConsoleGateway('e2e_shell');
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('refuses a wrong token at the sign-in form and lets an approver in with the right one', async () => {
    const { page, errors, context } = await openPage(browser);
    const shell = new ConsoleShell(page, gw.url);
    await page.goto(gw.url);
    await page.getByLabel('Token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('does not accept this token');
    await shell.signIn(gw.gateway.staff.alice);
    await expect.poll(() => page.url()).toContain('#/approvals');
    expect(await page.getByText('alice').first().isVisible()).toBe(true);
    // The token is in this tab's sessionStorage only: never in the URL or a cookie.
    expect(page.url()).not.toContain(gw.gateway.staff.alice);
    expect(await context.cookies()).toEqual([]);
    await context.close();
    await shell.expectNoErrors(errors.filter((line) => !line.includes('401')));
  });

  it('serves the console with a strict Content-Security-Policy', async () => {
    const response = await fetch(gw.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
  });
});
