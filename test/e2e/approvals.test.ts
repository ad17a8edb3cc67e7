import { spawn } from 'node:child_process';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findProgram } from '../helpers/external-program.js';
import { CHROMIUM, launchBrowser, openPage, screenshot } from './harness/browser.js';
import { startConsoleGateway, type ConsoleGateway } from './harness/console-gateway.js';
import { ApprovalsPage } from './pages/approvals-page.js';
import { ConsoleShell } from './pages/console-page.js';

// The approvals inbox against a real gateway, PostgreSQL and psql: a statement policy holds
// shows up in the browser, and what the approver does there is what psql gets.

const PSQL = findProgram('psql');

const POLICY = [
  '{ name: ci-read, match: { groups: [ci] }, effect: allow }',
  '{ name: deletes-need-approval, match: { groups: [ci], kinds: [delete] }, effect: approve, reason: "deletes need a second pair of eyes" }',
];

interface PsqlRun {
  readonly done: Promise<{ readonly code: number | null; readonly stdout: string; readonly stderr: string }>;
}

describe.skipIf(!CHROMIUM || !PSQL)('approvals inbox (real Chromium, gateway, PostgreSQL and psql)', () => {
  let browser: Browser;
  let gw: ConsoleGateway;

  /** psql through the gateway as the CI caller, each -c in one session; it blocks while a statement is held. */
  function psql(...statements: string[]): PsqlRun {
    const env = { ...process.env, PGPASSWORD: gw.gateway.token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' };
    const child = spawn(PSQL!, ['-X', '-v', 'ON_ERROR_STOP=1', ...statements.flatMap((sql) => ['-c', sql]), gw.gateway.url], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return { done: new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr }))) };
  }

  async function signedIn(token: string, colorScheme: 'light' | 'dark' = 'light'): Promise<{ page: Page; inbox: ApprovalsPage; shell: ConsoleShell; errors: string[] }> {
    const { page, errors } = await openPage(browser, { colorScheme });
    const shell = new ConsoleShell(page, gw.url);
    await shell.signIn(token);
    const inbox = new ApprovalsPage(page);
    await page.waitForURL(/#\/approvals/);
    return { page, inbox, shell, errors };
  }

  async function rowsLeft(): Promise<number> {
    const client = await gw.db.connect();
    return (await client.query<{ n: number }>('SELECT count(*)::int AS n FROM orders')).rows[0]!.n;
  }

  beforeAll(async () => {
    gw = await startConsoleGateway('e2e_approvals', { policy: POLICY });
    const client = await gw.db.connect();
    await client.query("CREATE TABLE orders (id int PRIMARY KEY, customer text NOT NULL, total numeric NOT NULL, created_at timestamptz NOT NULL DEFAULT now() - interval '2 years')");
    await client.query("INSERT INTO orders (id, customer, total) SELECT n, 'customer ' || n, n * 10 FROM generate_series(1, 40) AS n");
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
  });

  it('shows a held psql DELETE in the inbox, and approving it lets psql finish', async () => {
    const { page, inbox, shell, errors } = await signedIn(gw.gateway.staff.alice);
    await inbox.emptyState().waitFor();
    await screenshot(page, 'approvals-empty-light');

    const run = psql('SELECT count(*) FROM orders', 'DELETE FROM orders WHERE id <= 3');
    await inbox.waitForRequest('DELETE FROM orders WHERE id <= 3');
    expect(await inbox.statement().textContent()).toBe('DELETE FROM orders WHERE id <= 3');
    const detail = inbox.detail();
    expect(await detail.getByRole('heading', { level: 2 }).textContent()).toBe('DELETE on testdb');
    const why = await detail.getByRole('region', { name: 'Why approval is needed' }).textContent();
    expect(why).toContain('deletes-need-approval');
    // The rule's own words are the headline.
    expect(why).toContain('deletes need a second pair of eyes');
    expect(await detail.getByRole('region', { name: 'Requested by' }).textContent()).toContain('ci-job');
    expect(await detail.getByRole('region', { name: 'Earlier in this session' }).textContent()).toContain('SELECT count(*) FROM orders');
    expect(await detail.getByRole('timer').textContent()).toMatch(/\d+:\d\d left/);
    await expect.poll(() => shell.title()).toBe('(1) Sluice — 1 pending approval');
    await screenshot(page, 'approvals-pending-light');
    // Held: PostgreSQL has not seen it.
    expect(await rowsLeft()).toBe(40);

    await inbox.approve();
    const result = await run.done;
    expect(result.stderr).toContain('waiting for approval');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('DELETE 3');
    expect(await rowsLeft()).toBe(37);
    await inbox.emptyState().waitFor();
    await expect.poll(() => shell.title()).toBe('Sluice');
    const row = inbox.history().getByRole('row').nth(1);
    expect(await row.textContent()).toContain('Approved');
    expect(await row.textContent()).toContain('alice');
    await shell.expectNoErrors(errors);
    await page.context().close();
  });

  it('sends a deny reason typed in the browser to psql', async () => {
    const { page, inbox, shell, errors } = await signedIn(gw.gateway.staff.alice);
    const run = psql('DELETE FROM orders WHERE id = 9');
    const id = await inbox.waitForRequest('DELETE FROM orders WHERE id = 9');
    await expect.poll(() => shell.title()).toContain('(1)');
    await inbox.denyWithKeys('orders are kept for seven years: archive it instead');
    const result = await run.done;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('denied by alice: orders are kept for seven years: archive it instead');
    expect(await rowsLeft()).toBe(37);
    await inbox.historyRow(id).waitFor();
    expect(await inbox.historyRow(id).textContent()).toContain('Denied');
    expect(await inbox.historyRow(id).textContent()).toContain('orders are kept for seven years');
    await shell.expectNoErrors(errors);
    await page.context().close();
  });

  it('reads well in light and dark with a long statement pending and history below (screenshots)', async () => {
    const long = [
      'DELETE FROM orders o',
      'WHERE o.created_at < now() - interval \'18 months\'',
      "  AND o.customer NOT IN (SELECT customer FROM orders WHERE total > 300 AND customer LIKE 'customer 3%')",
      "  AND o.id NOT IN (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25) -- keep the first 25: audited",
      '  AND o.total BETWEEN 0 AND 1000',
    ].join('\n');
    const runs = [psql('SELECT id, total FROM orders ORDER BY id LIMIT 5', 'SELECT count(*) FROM orders WHERE total > 300', long), psql('DELETE FROM orders WHERE id = 40')];
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, inbox, errors } = await signedIn(colorScheme === 'light' ? gw.gateway.staff.alice : gw.gateway.staff.bob, colorScheme);
      await inbox.waitForRequest("o.created_at < now() - interval '18 months'");
      await inbox.waitForRequest('DELETE FROM orders WHERE id = 40');
      await inbox.select('interval');
      await screenshot(page, `approvals-pending-${colorScheme}`);
      await inbox.history().scrollIntoViewIfNeeded();
      await screenshot(page, `approvals-history-${colorScheme}`);
      if (colorScheme === 'dark') {
        await page.keyboard.press('?');
        await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
        await screenshot(page, 'approvals-shortcuts-dark');
        await page.keyboard.press('Escape');
        await inbox.detail().getByRole('button', { name: /Deny/ }).click();
        await screenshot(page, 'approvals-deny-dark');
        await page.keyboard.press('Escape');
      }
      expect(errors).toEqual([]);
      await page.context().close();
    }
    // Leave nothing held for the next test file's gateway shutdown to cancel.
    const { page, inbox } = await signedIn(gw.gateway.staff.alice);
    await inbox.select('interval');
    await inbox.deny('screenshots only');
    await inbox.select('id = 40');
    await inbox.deny('screenshots only');
    for (const run of runs) expect((await run.done).stderr).toContain('screenshots only');
    await page.context().close();
  });
});
