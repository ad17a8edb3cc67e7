import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openAuditReader, openAuditStore } from '../../../proxy/audit/audit-store.js';
import type { EventRecord, SessionRecord } from '../../../proxy/audit/audit-types.js';

const root = resolve(import.meta.dirname, '../../..');
const CLI = join(root, 'proxy/cli/main.ts');
const WRITER = join(import.meta.dirname, 'writer-child.ts');
const execFileAsync = promisify(execFile);

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-audit-xproc-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts writer-child.ts on `dataDir` and resolves with its session id once it has written. */
async function startWriter(dataDir: string): Promise<{ child: ChildProcess; sessionId: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER, dataDir], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((done) => child.once('exit', done));
  cleanup.push(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const sessionId = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) done(out.trim());
    });
    child.once('exit', (code) => fail(new Error(`writer exited ${code}: ${stderr}`)));
  });
  return { child, sessionId };
}

async function sluice(args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: root, env: { PATH: process.env.PATH }, maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

describe('the audit store across processes', () => {
  it('is read by `sluice sessions` in another process while the gateway process writes', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'sluice.yaml'), 'data_dir: ./data\n');
    const { sessionId } = await startWriter(join(dir, 'data'));

    const [listed] = JSON.parse(await sluice(['sessions', '--config', join(dir, 'sluice.yaml'), '--json'])) as SessionRecord[];
    expect(listed).toMatchObject({ id: sessionId, status: 'open', application: 'writer-child' });
    const first = JSON.parse(await sluice(['sessions', 'show', sessionId, '--config', join(dir, 'sluice.yaml'), '--json'])) as { events: EventRecord[] };
    await new Promise((done) => setTimeout(done, 200));
    const later = JSON.parse(await sluice(['sessions', 'show', sessionId, '--config', join(dir, 'sluice.yaml'), '--json'])) as { events: EventRecord[] };
    // Each read sees a consistent prefix: seq 1..n with no gaps, growing while the writer writes.
    for (const { events } of [first, later]) expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
    expect(later.events.length).toBeGreaterThan(first.events.length);
  }, 60_000);

  it('keeps every committed event of a gateway killed mid-write, and marks its session aborted on the next start', async () => {
    const dataDir = join(await tempDir(), 'data');
    const { child, sessionId } = await startWriter(dataDir);
    await new Promise((done) => setTimeout(done, 300));
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGKILL');
    await exited;

    const reader = await openAuditReader(dataDir);
    expect((await reader.getSession(sessionId))?.status).toBe('open');
    await reader.close();

    const store = await openAuditStore({ dataDir, durability: 'batched' });
    try {
      const session = await store.getSession(sessionId);
      const events = await store.listEvents(sessionId);
      expect(session?.status).toBe('aborted');
      expect(events.length).toBeGreaterThan(2);
      expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index + 1));
      expect(session?.endedAt).toBe(Math.floor(events.at(-1)!.time / 1000));
    } finally {
      await store.close();
    }
  }, 60_000);
});
