import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuditStore, type AuditStore } from '../../../proxy/audit/audit-store.js';
import { asciicastOf, asciicastOutput, formatAsciicast, parseAsciicast } from '../../../proxy/common/asciicast.js';
import { transcriptFrames } from '../../../proxy/common/transcript.js';
import { openTerminalRecording, type TerminalStart } from '../../../proxy/exec/terminal-recording.js';

// The recording in the real SQLite store, read back, exported as asciicast and replayed.

const START: TerminalStart = {
  identity: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'] },
  resource: 'kube-prod',
  clientAddress: '127.0.0.1',
  application: 'sluice exec',
  command: ['kubectl', 'get', 'pods', '-l', 'app=web server'],
  cols: 100,
  rows: 30,
};

let dir: string;
let store: AuditStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-termrec-'));
  store = await openAuditStore({ dataDir: dir, durability: 'batched' });
});

afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

async function readBack(id: string) {
  await store.flush();
  const session = (await store.getSession(id))!;
  return { session, events: await store.listEvents(id) };
}

describe('openTerminalRecording', () => {
  it('records a terminal session that exports as asciicast v2 and replays its output exactly', async () => {
    const recording = openTerminalRecording(store, START, { batchMs: 60_000 });
    const chunks = ['\x1b[1mNAME\x1b[0m  READY\r\n', 'web-1 ', '1/1\r\n', 'ünïcödé ✓ 🚀\r\n', 'tab\there "quoted" \\ back\r\n'];
    for (const chunk of chunks) recording.output(chunk);
    recording.resize(120, 40);
    recording.output('after resize');
    await recording.finish({ exitCode: 0, signal: null });

    const { session, events } = await readBack(recording.sessionId);
    expect(session).toMatchObject({ protocol: 'exec', resource: 'kube-prod', status: 'closed', counters: { statements: 1, errors: 0 } });
    // Batched: the five chunks before the resize are one event.
    expect(events.map((event) => event.kind)).toEqual(['connect', 'notice', 'output', 'output', 'output', 'notice', 'disconnect']);

    const text = formatAsciicast(asciicastOf(session, events));
    const cast = parseAsciicast(text);
    expect(cast.header).toMatchObject({ version: 2, width: 100, height: 30, command: "kubectl get pods -l 'app=web server'", timestamp: Math.floor(session.startedAt / 1000) });
    expect(asciicastOutput(cast)).toBe(chunks.join('') + 'after resize');
    expect(cast.events.map((event) => event[1])).toEqual(['o', 'r', 'o', 'm']);
    expect(cast.events[1]![2]).toBe('120x40');
    expect(cast.events[3]![2]).toBe('exited with code 0');
    // Every line of the file is JSON on its own.
    for (const line of text.trimEnd().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
  });

  it('writes buffered output once the batch time passes', async () => {
    const recording = openTerminalRecording(store, START, { batchMs: 1 });
    recording.output('first');
    await new Promise((resolve) => setTimeout(resolve, 30));
    recording.output('second');
    await recording.finish({ exitCode: 0, signal: null });
    const { events } = await readBack(recording.sessionId);
    expect(events.filter((event) => event.kind === 'output').map((event) => (event.payload as { data: string }).data)).toEqual(['first', 'second']);
  });

  it('keeps the tail when the command is killed, and closes the session as failed', async () => {
    const recording = openTerminalRecording(store, START, { batchMs: 60_000 });
    recording.output('partial line without newline');
    await recording.finish({ exitCode: null, signal: 'SIGKILL' });
    const { session, events } = await readBack(recording.sessionId);
    expect(session.counters.errors).toBe(1);
    expect(asciicastOutput(asciicastOf(session, events))).toBe('partial line without newline');
    expect(events.at(-2)?.payload).toMatchObject({ action: 'exit', exit_code: null, signal: 'SIGKILL' });
  });

  it('records an abort with its reason and the output so far', async () => {
    const recording = openTerminalRecording(store, START, { batchMs: 60_000 });
    recording.output('so far');
    await recording.abort('the client went away');
    // A second end changes nothing.
    await recording.finish({ exitCode: 0, signal: null });
    recording.output('ignored');
    const { session, events } = await readBack(recording.sessionId);
    expect(session.status).toBe('aborted');
    expect(events.map((event) => event.kind)).toEqual(['connect', 'notice', 'output', 'error', 'disconnect']);
    expect(events[3]!.payload).toMatchObject({ source: 'gateway', message: 'the client went away' });
  });

  it('stops recording past maxBytes and says how much it left out', async () => {
    const recording = openTerminalRecording(store, START, { batchMs: 60_000, maxBytes: 10 });
    recording.output('0123456');
    recording.output('789abcdef');
    await recording.finish({ exitCode: 0, signal: null });
    const { session, events } = await readBack(recording.sessionId);
    expect(asciicastOutput(asciicastOf(session, events))).toBe('0123456789');
    expect(events.find((event) => (event.payload as { action?: string }).action === 'truncated')?.payload).toMatchObject({ dropped: 6 });
  });

  it('records links and input in order with the output around them', async () => {
    const recording = openTerminalRecording(store, { ...START, links: ['01AAAA'] }, { batchMs: 60_000 });
    recording.output('psql> ');
    recording.input('select 1;\r');
    recording.link('01BBBB');
    recording.output(' ?column?\r\n');
    await recording.finish({ exitCode: 0, signal: null });
    const { session, events } = await readBack(recording.sessionId);
    expect(events[1]!.payload).toMatchObject({ action: 'start', links: ['01AAAA'] });
    expect(events.slice(2, 6).map((event) => [event.kind, (event.payload as { action?: string }).action ?? (event.payload as { data?: string }).data])).toEqual([
      ['output', 'psql> '],
      ['input', 'select 1;\r'],
      ['notice', 'link'],
      ['output', ' ?column?\r\n'],
    ]);
    expect(asciicastOf(session, events).events.map((event) => event[1])).toEqual(['o', 'i', 'o', 'm']);
  });

  it('replays in the transcript as the command, its output (escaped) and its exit', async () => {
    const recording = openTerminalRecording(store, START, { batchMs: 60_000 });
    recording.output('\x1b[31mred\x1b[0m line\r\nnext\r\n');
    await recording.finish({ exitCode: 2, signal: null });
    const { session, events } = await readBack(recording.sessionId);
    const text = transcriptFrames(session, events).map((frame) => frame.text).join('');
    expect(text).toContain("$ kubectl get pods -l 'app=web server'\n");
    expect(text).toContain('\\x1b[31mred\\x1b[0m line\nnext\n');
    expect(text).toContain('-- exited with code 2');
    expect(text).not.toContain('\x1b');
  });
});

describe('asciicastOf', () => {
  it('refuses a session that is not a terminal session', () => {
    expect(() => asciicastOf({ id: 'S1', protocol: 'postgres' }, [{ seq: 1, time: 1, kind: 'query', payload: { text: 'select 1' } }])).toThrow(/not a terminal session/);
  });
});

describe('parseAsciicast', () => {
  it('names the line that is not asciicast', () => {
    expect(() => parseAsciicast('{"version":2,"width":80,"height":24}\n[0.5,"o","ok"]\n[0.1,"o","back in time"]\n')).toThrow(/line 3/);
    expect(() => parseAsciicast('{"version":1}\n')).toThrow(/line 1/);
    expect(() => parseAsciicast('{"version":2,"width":80,"height":24}\n[0.5,"x","?"]\n')).toThrow(/line 2/);
  });
});
