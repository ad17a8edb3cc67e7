import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval } from '../../proxy/approvals/approval-types.js';
import { eventually } from '../helpers/eventually.js';
import { findProgram } from '../helpers/external-program.js';
import { runCli } from '../helpers/run-cli.js';
import { CHROMIUM, launchBrowser, openPage, screenshot } from './harness/browser.js';
import { startConsoleGateway, type ConsoleGateway } from './harness/console-gateway.js';
import { BundlePage } from './pages/bundle-page.js';
import { ConsoleShell } from './pages/console-page.js';
import { PolicyPage } from './pages/policy-page.js';

// Policy & resources and Open bundle in real Chromium against a real gateway and PostgreSQL:
// the explain form must say what the gateway really does with the same statement, and a bundle
// exported by the real CLI must verify in the browser, and fail there once one character of an
// event changes.

const psql = findProgram('psql');

const POLICY = [
  '{ name: ci-read, match: { groups: [ci], resources: [testdb], kinds: [select] }, effect: allow }',
  '{ name: ci-writes-need-approval, match: { groups: [ci], resources: [testdb], kinds: [insert, update, delete] }, effect: approve, reason: "writes by CI need a second pair of eyes", session_grant: 10m }',
  '{ name: no-delete-without-where, match: { resources: [testdb], flags: [no_where] }, effect: deny, reason: "a DELETE or UPDATE without WHERE touches every row" }',
];

describe.skipIf(!CHROMIUM || !psql)('policy & resources and open bundle (real Chromium against sluice serve)', () => {
  let browser: Browser;
  let gw: ConsoleGateway;
  let dir: string;

  beforeAll(async () => {
    gw = await startConsoleGateway('e2e_policy_bundle', {
      policy: POLICY,
      approvals: '{ timeout: 2m, quorum: 1 }',
      masking: ['{ name: emails, detect: email, strategy: partial }'],
    });
    const admin = await gw.db.connect();
    await admin.query('CREATE TABLE orders (id int PRIMARY KEY, note text)');
    await admin.query("INSERT INTO orders SELECT i, 'order ' || i FROM generate_series(1, 5) i");
    await admin.end();
    dir = await mkdtemp(join(tmpdir(), 'sluice-e2e-bundle-'));
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await gw?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Runs psql through the gateway as the CI caller; resolves once psql exits. */
  function psqlAsCi(sql: string): Promise<{ code: number | null; stderr: string }> {
    const env = { ...process.env, PGPASSWORD: gw.gateway.token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' };
    const child = spawn(psql!, ['-X', '-v', 'ON_ERROR_STOP=1', '-c', sql, gw.gateway.url], { env });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
  }

  async function decideAsAlice(id: string, decision: 'approve' | 'deny', reason: string): Promise<void> {
    const response = await fetch(`${gw.url.replace(/\/$/, '')}/api/v1/approvals.decide`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${gw.gateway.staff.alice}` },
      body: JSON.stringify({ id, decision, reason }),
    });
    expect(response.status).toBe(200);
  }

  it('lists the rules in order and explains a DELETE as the gateway really decides it', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, errors, context } = await openPage(browser, { colorScheme });
      const shell = new ConsoleShell(page, gw.url);
      await shell.signIn(gw.gateway.staff.carol);
      await shell.open('Policy & resources');
      const policy = new PolicyPage(page);
      await policy.waitForLoad();
      expect(await policy.ruleNames()).toEqual(['ci-read', 'ci-writes-need-approval', 'no-delete-without-where']);
      expect(await page.getByTestId('default-deny').textContent()).toContain('Default: deny');
      // The upstream is shown without its password (held in a file the gateway reads).
      const testdb = policy.resourceRow('testdb');
      expect(await testdb.textContent()).toContain(`postgres://${gw.db.user}@`);
      expect(await page.locator('body').textContent()).not.toContain(gw.db.password);

      await policy.explain({ sql: 'DELETE FROM orders WHERE id = 3', resource: 'testdb', subject: 'ci-job', groups: 'ci' });
      expect(await policy.decision()).toBe('approve');
      expect(await policy.verdict.textContent()).toContain('by rule ci-writes-need-approval');
      expect(await policy.trace.textContent()).toContain('ci-writes-need-approval');
      // The matched rule is marked in the list beside the form.
      expect(await policy.rule('ci-writes-need-approval').textContent()).toContain('decided the explained statement');
      await screenshot(page, `policy-explain-${colorScheme}`);
      await context.close();
      await shell.expectNoErrors(errors);
    }

    // The same statement from the same caller through the real gateway: held by the same rule.
    const requested = new Promise<Approval>((resolve) => {
      const off = gw.gateway.engine.approvals.on('requested', (approval) => {
        off();
        resolve(approval);
      });
    });
    const run = psqlAsCi('DELETE FROM orders WHERE id = 3');
    const approval = await requested;
    expect(approval.rule).toBe('ci-writes-need-approval');
    await decideAsAlice(approval.id, 'deny', 'not during the e2e test');
    const held = await run;
    expect(held.code).not.toBe(0);
    expect(held.stderr).toContain('not during the e2e test');
  });

  it('explains a DELETE without WHERE as denied, as psql is, and shows SQL that does not parse at the form', async () => {
    const { page, errors, context } = await openPage(browser);
    const shell = new ConsoleShell(page, gw.url);
    await shell.signIn(gw.gateway.staff.alice);
    await shell.open('Policy & resources');
    const policy = new PolicyPage(page);
    await policy.waitForLoad();

    await policy.explain({ sql: 'DELETE FROM orders', subject: 'ci-job', groups: 'ci' });
    expect(await policy.decision()).toBe('deny');
    expect(await policy.verdict.textContent()).toContain('by rule no-delete-without-where');
    // Both rules matched; the deny wins and the screen says why.
    const trace = (await policy.trace.textContent()) ?? '';
    expect(trace).toContain('no-delete-without-where');
    expect(trace).toContain('ci-writes-need-approval');
    expect(await policy.panel.textContent()).toContain('deny is more restrictive than needs approval');
    await screenshot(page, 'policy-explain-deny-light');
    const denied = await psqlAsCi('DELETE FROM orders');
    expect(denied.stderr).toContain('denied by rule no-delete-without-where');

    await policy.explain({ sql: 'DELEET FROM orders', subject: 'ci-job', groups: 'ci' });
    expect(await policy.decision()).toBe('deny');
    expect(await policy.statementProblem.textContent()).toContain('does not parse');
    await context.close();
    await shell.expectNoErrors(errors);
  });

  it('verifies a bundle exported by the real CLI in the browser, and shows a tampered copy as FAILED', async () => {
    // Record a session through the gateway: two reads and a denied DDL statement.
    const client = await gw.gateway.connect({ application_name: 'e2e-bundle' });
    await client.query('SELECT id, note FROM orders ORDER BY id');
    await client.query('SELECT 41 + 1 AS answer');
    await expect(client.query('DROP TABLE orders')).rejects.toThrow(/denied/);
    await client.end();
    await eventually(async () => {
      await gw.gateway.engine.store.flush();
      const sessions = await gw.gateway.engine.store.listSessions({});
      expect(sessions.some((session) => session.application === 'e2e-bundle' && session.status === 'closed')).toBe(true);
    }, 5_000);
    const sessionId = (await gw.gateway.engine.store.listSessions({})).find((session) => session.application === 'e2e-bundle')!.id;

    const file = join(dir, 'e2e.sluice');
    const exported = await runCli(['export', '--config', gw.gateway.configFile, '--session', sessionId, '-o', file], { env: {} });
    expect(exported.stderr).toBe('');
    expect(exported.code).toBe(0);
    const keyLine = (await runCli(['key', 'show', '--config', gw.gateway.configFile], { env: {} })).stdout.split('\n')[0]!;
    expect(keyLine).toMatch(/^sluice-ed25519:/);

    const text = await readFile(file, 'utf8');
    // One character flipped inside an event's payload; the line stays valid JSON.
    const lines = text.split('\n');
    const at = lines.findIndex((line) => line.includes('"t":"event"') && line.includes('41 + 1'));
    expect(at).toBeGreaterThan(0);
    lines[at] = lines[at]!.replace('41 + 1', '41 + 2');
    JSON.parse(lines[at]!);
    const tampered = lines.join('\n');

    for (const colorScheme of ['light', 'dark'] as const) {
      const { page, errors, context } = await openPage(browser, { colorScheme });
      const shell = new ConsoleShell(page, gw.url);
      await shell.signIn(gw.gateway.staff.alice);
      await shell.open('Open bundle');
      const bundle = new BundlePage(page);
      await page.getByText('Drop a .sluice bundle here').waitFor();
      if (colorScheme === 'light') await screenshot(page, 'bundle-empty-light');

      await bundle.open(file);
      expect(await bundle.verified()).toBe(true);
      expect(await bundle.heading()).toBe('Verified');
      expect(await bundle.counts.textContent()).toMatch(/^1 session, \d+ events, \d+ ledger entries$/);
      expect(await bundle.verification.textContent()).toContain('not checked against a key you trust');
      await bundle.trustKey(keyLine);
      await expect.poll(async () => bundle.verification.textContent()).toContain('the trusted key you gave');
      expect(await bundle.sessions().count()).toBe(1);
      // The one session is ready to replay, under the verification's banner.
      await bundle.replayBanner.waitFor();
      expect(await bundle.replayBanner.textContent()).toContain('Verified bundle');
      await screenshot(page, `bundle-verified-${colorScheme}`);

      await bundle.open({ name: 'e2e-tampered.sluice', text: tampered });
      expect(await bundle.verified()).toBe(false);
      expect(await bundle.heading()).toBe('Verification FAILED');
      expect(await bundle.problem.textContent()).toContain('changed after it was signed');
      // The content stays hidden until asked for, and then comes under a red banner.
      expect(await bundle.sessions().count()).toBe(0);
      await bundle.showUnverifiedButton.click();
      expect(await bundle.sessions().count()).toBe(1);
      await screenshot(page, `bundle-failed-${colorScheme}`);
      await bundle.replay(sessionId);
      await bundle.replayBanner.waitFor();
      expect(await bundle.replayBanner.textContent()).toContain('UNVERIFIED CONTENT');
      await screenshot(page, `bundle-failed-replay-${colorScheme}`);

      await bundle.open({ name: 'notes.sluice', text: 'these are my notes, not a bundle\n' });
      expect(await bundle.heading()).toBe('Verification FAILED');
      expect(await bundle.verification.textContent()).toContain('sluice export');
      expect(await page.getByText('There is nothing to show').isVisible()).toBe(true);
      await context.close();
      await shell.expectNoErrors(errors);
    }
  });
});
