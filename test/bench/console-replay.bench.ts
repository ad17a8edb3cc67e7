// Opening and scrubbing a 100,000-event session in the console's replayer, in real Chromium:
// the Replayer component built by vite's build() from the renderer's source, served over HTTP,
// showing a session generated here with the payload shapes the gateway records (query, decision,
// approval, limit, error). The events reach the page before the clock starts: this measures the
// renderer (the timeline, the part of the transcript on screen, markers, React, xterm), not the
// API's transfer.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { serveConsole } from '../../proxy/api/console-files.js';
import { launchBrowser } from '../e2e/harness/browser.js';

const EVENTS = Number(process.env.SLUICE_BENCH_REPLAY_EVENTS ?? 100_000);
const SCRUBS = 10;
const TARGET_MS = 500;
/** A file to write a CPU profile of the open at the end to (the build is then left unminified, so it names functions). */
const PROFILE = process.env.SLUICE_BENCH_REPLAY_PROFILE;

interface Opened {
  /** ms until the frame that draws the terminal's first picture (its animation callbacks). */
  readonly painted: number;
  /** ms until the markers were drawn too. */
  readonly markers: number;
}

interface BenchEvent {
  readonly seq: number;
  readonly time: number;
  readonly kind: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** A long psql session as the gateway records it: mostly reads, some masked, denied, failing, approved and limited. */
export function generateSession(count: number, seed = 42): { session: Record<string, unknown>; events: BenchEvent[] } {
  let state = seed;
  const random = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const start = Date.UTC(2025, 4, 6, 9, 0, 0) * 1000;
  let time = start;
  const events: BenchEvent[] = [];
  const push = (kind: string, payload: Record<string, unknown>) => events.push({ seq: events.length + 1, time, kind, payload });
  const query = (text: string, extra: Record<string, unknown>) => push('query', { protocol: 'simple', text, duration_ms: Math.round(random() * 400) / 100, rows: 0, outcome: 'ok', tags: [], decision: { effect: 'allow', rule: 'ci-read' }, ...extra });
  push('connect', { identity: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'] }, resource: 'prod-db', client_address: '10.0.0.7:51234', application: 'psql' });
  let approvals = 0;
  while (events.length < count - 1) {
    // Mostly quick statements; now and then a pause (skip idle shortens those).
    time += events.length % 700 === 0 ? 30_000_000 : Math.round(20_000 + random() * 400_000);
    const roll = random();
    const id = Math.floor(random() * 100_000);
    if (roll < 0.65) {
      const rows = 1 + Math.floor(random() * 4);
      query(`SELECT id, name, created_at FROM orders WHERE customer_id = ${id} ORDER BY created_at DESC LIMIT ${rows};`, {
        rows,
        tags: [`SELECT ${rows}`],
        sample: { columns: ['id', 'name', 'created_at'], rows: Array.from({ length: rows }, (_, i) => [String(id * 10 + i), `order ${id}-${i}`, '2025-05-06 09:00:00+00']), truncated: false },
      });
    } else if (roll < 0.77) {
      query(`SELECT id, email FROM customers WHERE id = ${id};`, { rows: 1, tags: ['SELECT 1'], masked: { emails: 1 }, sample: { columns: ['id', 'email'], rows: [[String(id), '[redacted:email]']], truncated: false } });
    } else if (roll < 0.82) {
      const text = `DELETE FROM audit_log WHERE id < ${id};`;
      push('decision', { effect: 'deny', rule: 'no-audit-deletes', reason: 'the audit log is append-only', trace: [{ rule: 'no-audit-deletes', effect: 'deny', why: 'kind delete on public.audit_log' }], text, statements: [{ kind: 'delete', operations: ['delete'], reads: [], writes: ['public.audit_log'], flags: [] }] });
      query(text, { outcome: 'error', error: { code: '42501', message: 'Sluice denied this statement: the audit log is append-only' }, decision: { effect: 'deny', rule: 'no-audit-deletes' } });
    } else if (roll < 0.87) {
      query(`SELECT 1 / (${id} - ${id});`, { outcome: 'error', error: { code: '22012', message: 'division by zero' } });
    } else if (roll < 0.95) {
      query(`UPDATE orders SET status = 'shipped' WHERE id = ${id};`, { rows: 1, tags: ['UPDATE 1'] });
    } else if (roll < 0.98) {
      const approval = `appr-${++approvals}`;
      const text = `DELETE FROM orders WHERE id = ${id};`;
      push('approval', { action: 'requested', id: approval, statement_hash: 'ab'.repeat(32), rule: 'deletes-need-approval', reasons: ['delete on public.orders'], expires_at: time / 1000 + 600_000, quorum: 1 });
      push('decision', { effect: 'approve', rule: 'deletes-need-approval', reason: 'deletes need a second pair of eyes', trace: [{ rule: 'deletes-need-approval', effect: 'approve', why: 'kind delete on public.orders' }], text, statements: [], approval });
      time += 2_000_000;
      push('approval', { action: 'vote', id: approval, approver: { subject: 'alice', issuer: 'sluice:token', groups: ['approvers'] }, decision: 'approve', scope: 'once', reason: 'ticket 42' });
      push('approval', { action: 'approved', id: approval, by: ['alice'], reason: 'alice: ticket 42' });
      push('approval', { action: 'executed', id: approval });
      query(text, { rows: 1, tags: ['DELETE 1'], decision: { effect: 'approve', rule: 'deletes-need-approval', approval } });
    } else {
      const text = 'SELECT * FROM events;';
      push('limit', { limit: 'rows_per_statement', value: 10_000, rule: 'limits', action: 'stopped', rows: 10_000, text });
      query(text, { rows: 10_000, outcome: 'error', tags: [], error: { code: '54000', message: 'result stopped at 10000 rows (limits.rows_per_statement)' } });
    }
  }
  const recorded = events.slice(0, count - 1);
  time += 1_000_000;
  recorded.push({ seq: recorded.length + 1, time, kind: 'disconnect', payload: { status: 'closed', counters: { statements: 0, errors: 0, rows: 0 } } });
  const session = {
    id: '01JBENCHREPLAY000000000000',
    resource: 'prod-db',
    protocol: 'postgres',
    identity: { subject: 'ci-job', issuer: 'sluice:token', groups: ['ci'] },
    startedAt: start / 1000,
    endedAt: time / 1000,
    status: 'closed',
    clientAddress: '10.0.0.7:51234',
    application: 'psql',
  };
  return { session, events: recorded };
}

// The page: the Replayer alone (no sign-in, no API), with a few hooks the benchmark drives.
const ENTRY = `
import '@xterm/xterm/css/xterm.css';
import '../../renderer/src/ui/theme.css';
import { createRoot } from 'react-dom/client';
import { Replayer } from '../../renderer/src/screens/replayer/replayer.js';
import { ReplayTranscript } from '../../renderer/src/screens/replayer/replay-transcript.js';
import { buildTimeline } from '../../renderer/src/screens/replayer/timeline.js';
import { findMarkers } from '../../renderer/src/screens/replayer/markers.js';

const nextFrame = () => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
const terminal = () => document.querySelector('.replay-terminal');
/** Resolves when the terminal reports its writes parsed (TerminalView sets data-shown-event then). */
const shown = (timeout) => new Promise((resolve) => {
  const element = terminal();
  const timer = setTimeout(() => { observer.disconnect(); resolve(false); }, timeout);
  const observer = new MutationObserver(() => { clearTimeout(timer); observer.disconnect(); resolve(true); });
  observer.observe(element, { attributes: true, attributeFilter: ['data-shown-event'] });
});
let data;
window.__bench = {
  async load() {
    data = await (await fetch('./session.json')).json();
    return data.events.length;
  },
  model() {
    // What opening computes before React and xterm: the timeline, the transcript's cut points,
    // the markers, and the transcript's last 1000 lines.
    const started = performance.now();
    const parts = {};
    let mark = started;
    const lap = (name) => { const now = performance.now(); parts[name] = Math.round(now - mark); mark = now; };
    buildTimeline(data.events, { skipIdle: true });
    lap('timeline');
    const transcript = new ReplayTranscript(data.session, data.events);
    lap('cuts');
    findMarkers(data.events);
    lap('markers');
    const tail = transcript.tail(data.events.length - 1);
    lap('tail');
    return { ms: performance.now() - started, tailFrames: tail.frames.length, parts };
  },
  async open(initialSeq) {
    const started = performance.now();
    createRoot(document.getElementById('root')).render(
      <main className="screen"><Replayer session={data.session} events={data.events} {...(initialSeq === undefined ? {} : { initialSeq })} /></main>,
    );
    while (!terminal() || terminal().dataset.shownEvent === undefined) await new Promise((resolve) => requestAnimationFrame(resolve));
    // The frame that draws it: its animation callbacks run, then the browser paints. (Not a
    // timer after it: the markers' work is queued for right after that frame.)
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const painted = performance.now() - started;
    // Markers are rendered in the background after the first picture (useDeferredValue).
    while (!document.querySelector('.scrubber-markers .marker')) await new Promise((resolve) => requestAnimationFrame(resolve));
    await nextFrame();
    return { painted, markers: performance.now() - started };
  },
  async scrub(fraction) {
    const track = document.querySelector('.scrubber-track');
    const box = track.getBoundingClientRect();
    const started = performance.now();
    const done = shown(3000);
    track.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, button: 0, pointerId: 1, clientX: box.left + box.width * fraction, clientY: box.top + box.height / 2 }));
    if (!(await done)) return undefined;
    await nextFrame();
    return performance.now() - started;
  },
  rows() {
    return [...document.querySelectorAll('.xterm-rows > div')].map((row) => row.textContent).join('\\n');
  },
};
`;

// Like the console, the page has already drawn text in both of the theme's fonts (its navigation,
// the sessions list) before a session opens: the first layout's font lookups are not the player's.
const HTML = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>replay bench</title></head><body><header class="topbar">Sluice · Sessions <code>01JBENCHREPLAY</code></header><div id="root"></div><script type="module" src="./main.tsx"></script></body></html>`;

export async function consoleReplayBenchmark(): Promise<string> {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  // The entry lives under the repository (test-results/ is ignored) so its imports resolve node_modules.
  const source = join(root, 'test-results', `bench-console-replay-${process.pid}`);
  const outDir = await mkdtemp(join(tmpdir(), 'sluice-replay-bench-'));
  const cleanups: (() => Promise<unknown>)[] = [() => rm(source, { recursive: true, force: true }), () => rm(outDir, { recursive: true, force: true })];
  try {
    await mkdir(source, { recursive: true });
    await writeFile(join(source, 'index.html'), HTML);
    await writeFile(join(source, 'main.tsx'), ENTRY);
    const { build } = await import('vite');
    const { default: react } = await import('@vitejs/plugin-react');
    await build({ configFile: false, root: source, base: './', logLevel: 'warn', plugins: [react()], build: { outDir, emptyOutDir: true, sourcemap: false, minify: !PROFILE, chunkSizeWarningLimit: 5_000 } });

    const generated = performance.now();
    const { session, events } = generateSession(EVENTS);
    const generateMs = performance.now() - generated;
    await writeFile(join(outDir, 'session.json'), JSON.stringify({ session, events }));

    const server = await listen(outDir);
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const browser = await launchBrowser();
    cleanups.push(() => browser.close());
    const context = await browser.newContext({ viewport: { width: 1360, height: 860 } });

    // Cold open at the start, then scrubs; a fresh page for the open at the end (the tail write).
    const page = await context.newPage();
    const loaded = await load(page, url);
    const model = (await page.evaluate('window.__bench.model()')) as { ms: number; tailFrames: number; parts: Record<string, number> };
    const openStart = (await page.evaluate('window.__bench.open()')) as Opened;
    const scrubProfiler = PROFILE ? await context.newCDPSession(page) : undefined;
    await scrubProfiler?.send('Profiler.enable');
    await scrubProfiler?.send('Profiler.start');
    const scrubs: number[] = [];
    let random = 7;
    for (let attempt = 0; scrubs.length < SCRUBS && attempt < SCRUBS * 3; attempt++) {
      random = (random * 16_807) % 2_147_483_647;
      const fraction = 0.02 + (random / 2_147_483_647) * 0.96;
      const ms = (await page.evaluate(`window.__bench.scrub(${fraction})`)) as number | undefined;
      // undefined: the position showed what was already on screen (nothing to write); pick another.
      if (ms !== undefined) scrubs.push(ms);
    }
    if (scrubProfiler && PROFILE) await writeFile(PROFILE.replace(/(\.cpuprofile)?$/, '.scrub.cpuprofile'), JSON.stringify((await scrubProfiler.send('Profiler.stop')).profile));
    const tail = (await page.evaluate('window.__bench.rows()')) as string;
    if (!/prod-db[=-]>/.test(tail)) throw new Error(`the terminal shows no transcript after scrubbing:\n${tail.slice(0, 500)}`);

    const second = await context.newPage();
    await load(second, url);
    const profiler = PROFILE ? await context.newCDPSession(second) : undefined;
    await profiler?.send('Profiler.enable');
    await profiler?.send('Profiler.setSamplingInterval', { interval: 200 });
    await profiler?.send('Profiler.start');
    const openEnd = (await second.evaluate(`window.__bench.open(${events.at(-1)!.seq})`)) as Opened;
    if (profiler && PROFILE) await writeFile(PROFILE, JSON.stringify((await profiler.send('Profiler.stop')).profile));
    const endRows = (await second.evaluate('window.__bench.rows()')) as string;
    if (!endRows.includes('-- session closed')) throw new Error(`opened at the end, the terminal does not show the session's end:\n${endRows.slice(-500)}`);

    scrubs.sort((a, b) => a - b);
    const median = scrubs[Math.floor(scrubs.length / 2)] ?? Number.NaN;
    const max = scrubs.at(-1) ?? Number.NaN;
    const verdict = (ms: number) => (ms < TARGET_MS ? 'ok' : `OVER the ${TARGET_MS} ms target`);
    return [
      `Console replayer — ${loaded.toLocaleString('en-US')}-event session, Chromium ${browser.version()}, ${cpus().length} cores (load average ${loadavg()[0]!.toFixed(1)})`,
      `  session generated in Node                       ${generateMs.toFixed(0).padStart(6)} ms (not part of the measurements)`,
      `  timeline, cut points, markers, last 1000 lines  ${model.ms.toFixed(0).padStart(6)} ms (${Object.entries(model.parts).map(([name, ms]) => `${name} ${ms}`).join(', ')} ms; ${model.tailFrames} transcript frames rendered)`,
      `  open at the start: terminal and controls painted ${openStart.painted.toFixed(0).padStart(6)} ms  ${verdict(openStart.painted)}; markers drawn at ${openStart.markers.toFixed(0)} ms`,
      `  open at the end (the screen, then 1000 lines)    ${openEnd.painted.toFixed(0).padStart(6)} ms  ${verdict(openEnd.painted)}; markers drawn at ${openEnd.markers.toFixed(0)} ms`,
      `  scrub to ${scrubs.length} random positions: median       ${median.toFixed(0).padStart(6)} ms, max ${max.toFixed(0)} ms  ${verdict(max)}`,
    ].join('\n');
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  }
}

async function load(page: Page, url: string): Promise<number> {
  await page.goto(url);
  await page.waitForFunction('window.__bench !== undefined');
  await page.evaluate('document.fonts.ready.then(() => new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 50))))');
  return (await page.evaluate('window.__bench.load()')) as number;
}

function listen(dir: string): Promise<Server> {
  const server = createServer((request, response) => {
    void serveConsole(request, response, dir, new URL(request.url ?? '/', 'http://localhost').pathname);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// `npx tsx test/bench/console-replay.bench.ts` runs it alone.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.stdout.write(`${await consoleReplayBenchmark()}\n`);
}
