import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { findProgram } from '../../helpers/external-program.js';

// Real Chromium for the console tests: Debian's (apt-get install chromium), found through
// SLUICE_TEST_CHROMIUM or PATH. Playwright cannot download its own browsers here.

/** Undefined (and a printed reason) when no Chromium is installed: the caller skips. */
export const CHROMIUM = findProgram('chromium', ['/usr/bin/chromium', '/usr/bin/chromium-browser']);

const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'];

export async function launchBrowser(): Promise<Browser> {
  if (!CHROMIUM) throw new Error('no Chromium: install it (apt-get install chromium) or set SLUICE_TEST_CHROMIUM');
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
}

export interface ConsolePage {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Browser console errors and uncaught page errors seen so far (tests assert there are none). */
  readonly errors: string[];
}

/** A fresh context (own sessionStorage) with one page, with the colour scheme given. */
export async function openPage(browser: Browser, options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } } = {}): Promise<ConsolePage> {
  const context = await browser.newContext({ colorScheme: options.colorScheme ?? 'light', viewport: options.viewport ?? { width: 1360, height: 860 } });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return { context, page, errors };
}

/** Where the e2e run leaves its screenshots (look at them: docs/screenshots is refreshed from here). */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots');

export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: false });
  return path;
}
