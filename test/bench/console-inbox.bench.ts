// Time from a statement the gateway holds to the request drawn in an approver's inbox: the
// client's Query through the gateway, classification, policy, the broker, the engine event, the
// WebSocket, React, and the browser's next frame. Real everything: embedded PostgreSQL, the
// gateway in this process, the console built from source, Debian's Chromium.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Page } from 'playwright-core';
import type { Identity } from '../../proxy/identity/identity.js';
import { startEmbeddedPostgres } from '../../tools/embedded-postgres.js';
import { CHROMIUM, launchBrowser } from '../e2e/harness/browser.js';
import { startTestGateway } from '../helpers/gateway.js';
import type { TestDatabase } from '../helpers/postgres.js';

const ROUNDS = Number(process.env.SLUICE_BENCH_INBOX_ROUNDS ?? 60);
/** The first rounds warm the JIT, the socket and React; they are not counted. */
const WARMUP = 5;
const TARGET_MS = 200;

const POLICY = [
  '{ name: bench-read, match: { groups: [ci] }, effect: allow }',
  '{ name: deletes-need-approval, match: { groups: [ci], kinds: [delete] }, effect: approve, reason: "bench" }',
];

// Runs in the page (a string: this file is compiled without the DOM types). Records, per approval
// id, when its queue row entered the DOM and when the frame after that began, on the page's clock.
const OBSERVER = `(() => {
  const seen = (window.__inboxSeen = {});
  const painted = (window.__inboxPainted = {});
  const clock = () => performance.timeOrigin + performance.now();
  const note = (element) => {
    const id = element.getAttribute('data-approval-id');
    if (!id || seen[id] !== undefined) return;
    seen[id] = clock();
    requestAnimationFrame(() => { painted[id] = clock(); });
  };
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      for (const node of mutation.addedNodes) {
        if (!(node instanceof Element)) continue;
        if (node.matches('li[data-approval-id]')) note(node);
        for (const row of node.querySelectorAll('li[data-approval-id]')) note(row);
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
})()`;

export async function consoleInboxBenchmark(): Promise<string> {
  if (!CHROMIUM) return 'console inbox: skipped (no Chromium: apt-get install chromium, or set SLUICE_TEST_CHROMIUM)';
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const consoleDir = await mkdtemp(join(tmpdir(), 'sluice-inbox-bench-console-'));
  const pgDir = await mkdtemp(join(tmpdir(), 'sluice-inbox-bench-pg-'));
  const { build } = await import('vite');
  await build({ configFile: join(root, 'renderer', 'vite.config.ts'), logLevel: 'warn', build: { outDir: consoleDir, emptyOutDir: true, sourcemap: false } });
  const postgres = await startEmbeddedPostgres({ dir: pgDir, password: `bench-${Math.random().toString(36).slice(2)}`, persistent: false, throwaway: true });
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const db = await benchDatabase(postgres.server);
    const gateway = await startTestGateway(db, { api: true, tls: 'off', consoleDir, policy: POLICY });
    cleanups.push(() => gateway.close());
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const page = await (await browser.newContext({ viewport: { width: 1360, height: 860 } })).newPage();
    await signIn(page, gateway.engine.api!.url, gateway.staff.alice);
    await page.evaluate(OBSERVER);
    const clock = await clockOffset(page);
    const offset = clock.offset;

    const client = await gateway.connect();
    cleanups.push(() => client.end());
    const approver: Identity = { subject: 'bench-approver', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' };
    const toEvent: number[] = [];
    const toDom: number[] = [];
    const toFrame: number[] = [];
    for (let round = 0; round < ROUNDS + WARMUP; round++) {
      const requested = new Promise<{ id: string; at: number }>((resolve) => {
        const off = gateway.engine.events.on('approval.requested', (approval) => {
          off();
          resolve({ id: approval.id, at: wallClock() });
        });
      });
      const sent = wallClock();
      const held = client.query(`DELETE FROM items WHERE id = ${round + 1}`).catch(() => undefined);
      const { id, at } = await requested;
      await page.waitForFunction((approvalId) => (globalThis as unknown as { __inboxPainted: Record<string, number> }).__inboxPainted[approvalId] !== undefined, id, { timeout: 10_000, polling: 50 });
      const [dom, frame] = await page.evaluate((approvalId) => {
        const page = globalThis as unknown as { __inboxSeen: Record<string, number>; __inboxPainted: Record<string, number> };
        return [page.__inboxSeen[approvalId]!, page.__inboxPainted[approvalId]!];
      }, id);
      if (round >= WARMUP) {
        toEvent.push(at - sent);
        toDom.push(dom - offset - sent);
        toFrame.push(frame - offset - sent);
      }
      // Release it and wait for the row to leave, so every round starts from an empty queue.
      gateway.engine.approvals.decide(id, approver, { decision: 'deny', reason: 'bench' });
      await held;
      await page.locator(`li[data-approval-id="${id}"]`).waitFor({ state: 'detached', timeout: 10_000 });
    }
    const drift = (await clockOffset(page)).offset - offset;
    const frame = stats(toFrame);
    return [
      `approvals inbox: held statement -> request drawn in the browser (${ROUNDS} rounds after ${WARMUP} warm-up; node-postgres -> gateway -> WebSocket -> Chromium)`,
      `  on screen (next frame): median ${frame.median.toFixed(1)} ms, p95 ${frame.p95.toFixed(1)} ms, max ${frame.max.toFixed(1)} ms — target < ${TARGET_MS} ms: ${frame.p95 < TARGET_MS ? 'met' : 'MISSED'}`,
      `  in the DOM:             median ${stats(toDom).median.toFixed(1)} ms, p95 ${stats(toDom).p95.toFixed(1)} ms`,
      `  gateway event only:     median ${stats(toEvent).median.toFixed(1)} ms, p95 ${stats(toEvent).p95.toFixed(1)} ms`,
      `  (page and bench clocks aligned to ±${clock.error.toFixed(2)} ms; drift over the run ${drift.toFixed(2)} ms)`,
    ].join('\n');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await postgres.stop();
    await rm(pgDir, { recursive: true, force: true });
    await rm(consoleDir, { recursive: true, force: true });
  }
}

/** Epoch ms with sub-millisecond resolution, like the page's performance.timeOrigin + now(). */
function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * The page clock minus this process's clock. Each sample brackets one page read between two
 * local reads; the tightest bracket wins (Cristian's algorithm), and its half-width is the error.
 */
async function clockOffset(page: Page): Promise<{ readonly offset: number; readonly error: number }> {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 30; i++) {
    const before = wallClock();
    const remote = await page.evaluate('performance.timeOrigin + performance.now()');
    const after = wallClock();
    if (after - before < best.rtt) best = { rtt: after - before, offset: Number(remote) - (before + after) / 2 };
  }
  return { offset: best.offset, error: best.rtt / 2 };
}

async function signIn(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'No requests waiting' }).waitFor({ timeout: 15_000 });
  // The events socket is open: the shell says Live.
  await page.getByText('Live', { exact: true }).waitFor({ timeout: 15_000 });
}

/** A database of its own on the bench's PostgreSQL, shaped like the tests' TestDatabase. */
async function benchDatabase(server: { host: string; port: number; user: string; password: string }): Promise<TestDatabase> {
  const database = 'inbox_bench';
  const admin = new pg.Client({ ...server, database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const owner = new pg.Client({ ...server, database });
  await owner.connect();
  await owner.query('CREATE TABLE items (id int PRIMARY KEY, name text)');
  await owner.query("INSERT INTO items SELECT n, 'item ' || n FROM generate_series(1, 1000) AS n");
  await owner.end();
  const { host, port, user, password } = server;
  const connect = async () => {
    const client = new pg.Client({ ...server, database });
    await client.connect();
    return client;
  };
  return { host, port, user, password, database, url: `postgres://${user}:${encodeURIComponent(password)}@${host}:${port}/${database}`, connect, logStatements: async () => {}, serverLog: async () => [], drop: async () => {} };
}

function stats(samples: readonly number[]): { median: number; p95: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { median: at(0.5), p95: at(0.95), max: sorted.at(-1) ?? Number.NaN };
}
