import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DesktopBridge } from '../../../main/ipc/bridge-types.js';

// The preload as Electron loads it: one CommonJS file, built here the way `npm run build:preload`
// builds it (so the test never reads a stale dist/), then run in a fresh V8 context whose only
// `require` answers "electron" with a stub contextBridge and ipcRenderer. What it exposes is what
// the page gets.

const root = resolve(import.meta.dirname, '..', '..', '..');
let dir: string;
let code: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-preload-'));
  const outfile = join(dir, 'preload.cjs');
  await build({ entryPoints: [join(root, 'main/preload/preload.ts')], bundle: true, format: 'cjs', platform: 'node', target: 'chrome130', external: ['electron'], outfile, logLevel: 'silent' });
  code = await readFile(outfile, 'utf8');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface Stub {
  readonly exposed: Map<string, unknown>;
  readonly invoked: { channel: string; args: unknown[] }[];
  readonly sent: { channel: string; args: unknown[] }[];
  readonly required: string[];
  emit(channel: string, ...args: unknown[]): void;
  answer: (channel: string, input: unknown) => Promise<unknown>;
}

function load(): Stub {
  const listeners = new Map<string, ((event: unknown, ...args: unknown[]) => void)[]>();
  const stub: Stub = {
    exposed: new Map(),
    invoked: [],
    sent: [],
    required: [],
    emit: (channel, ...args) => listeners.get(channel)?.forEach((listener) => listener({ sender: 'the IpcRendererEvent' }, ...args)),
    answer: async () => ({ ok: true, value: 'answered' }),
  };
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, value: unknown) => stub.exposed.set(name, value) },
    ipcRenderer: {
      invoke: (channel: string, ...args: unknown[]) => {
        stub.invoked.push({ channel, args });
        return stub.answer(channel, args[0]);
      },
      send: (channel: string, ...args: unknown[]) => stub.sent.push({ channel, args }),
      on: (channel: string, listener: (event: unknown, ...args: unknown[]) => void) => listeners.set(channel, [...(listeners.get(channel) ?? []), listener]),
    },
  };
  const module = { exports: {} };
  const require = (name: string) => {
    stub.required.push(name);
    if (name !== 'electron') throw new Error(`a sandboxed preload cannot require ${name}`);
    return electron;
  };
  // No `process`, no Node globals: what a sandboxed preload has is what the bundle may use.
  runInNewContext(code, { require, module, exports: module.exports, Uint8Array, Promise, Set, Map, Error, JSON, RegExp, String });
  return stub;
}

describe('the preload bundle', () => {
  it('is one CommonJS file that requires nothing but electron and exposes one object, `sluice`', () => {
    const stub = load();
    expect(stub.required).toEqual(['electron']);
    expect([...stub.exposed.keys()]).toEqual(['sluice']);
    const bridge = stub.exposed.get('sluice') as Record<string, unknown>;
    expect(Object.keys(bridge).sort()).toEqual(['call', 'desktop', 'onConnection', 'onNavigate', 'onOpenBundle', 'subscribe']);
    for (const value of Object.values(bridge)) expect(typeof value).toBe('function');
  });

  it('sends engine calls and desktop calls on their own channels and returns the answer', async () => {
    const stub = load();
    const bridge = stub.exposed.get('sluice') as DesktopBridge;
    expect(await bridge.call('approvals.list', { status: 'pending' })).toEqual({ ok: true, value: 'answered' });
    expect(await bridge.desktop('settings.get', {})).toEqual({ ok: true, value: 'answered' });
    expect(stub.invoked).toEqual([
      { channel: 'sluice:api:approvals.list', args: [{ status: 'pending' }] },
      { channel: 'sluice:desktop:settings.get', args: [{}] },
    ]);
  });

  it('refuses a method name that is not one before it reaches IPC, and turns a missing handler into not_found', async () => {
    const stub = load();
    const bridge = stub.exposed.get('sluice') as { call(method: string, input: unknown): Promise<unknown> };
    expect(await bridge.call('../../etc', {})).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(await bridge.call('sluice:subscribe', {})).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(stub.invoked).toEqual([]);
    stub.answer = async (channel) => {
      throw new Error(`Error invoking remote method '${channel}': Error: No handler registered for '${channel}'`);
    };
    expect(await bridge.call('nothing.here', {})).toEqual({ ok: false, error: { code: 'not_found', message: 'the desktop app has no method "nothing.here"' } });
  });

  it('delivers pushed events without the IPC event object, and subscribes only while someone listens', () => {
    const stub = load();
    const bridge = stub.exposed.get('sluice') as DesktopBridge;
    const received: unknown[][] = [];
    const stop = bridge.subscribe((...args) => received.push(args));
    stub.emit('sluice:event', { event: 'approval.requested', payload: { id: 'A1' } });
    expect(received).toEqual([[{ event: 'approval.requested', payload: { id: 'A1' } }]]);
    stop();
    stub.emit('sluice:event', { event: 'approval.decided', payload: { id: 'A1' } });
    expect(received).toHaveLength(1);
    expect(stub.sent).toEqual([
      { channel: 'sluice:subscribe', args: [true] },
      { channel: 'sluice:subscribe', args: [false] },
    ]);
  });

  it('reports the connection state at once and as it changes; navigations and bundles reach their listeners', () => {
    const stub = load();
    const bridge = stub.exposed.get('sluice') as DesktopBridge;
    const states: string[] = [];
    bridge.onConnection((state) => states.push(state));
    stub.emit('sluice:connection', 'live');
    stub.emit('sluice:connection', 'bogus');
    expect(states).toEqual(['connecting', 'live']);

    const hashes: string[] = [];
    bridge.onNavigate((hash) => hashes.push(hash));
    stub.emit('sluice:navigate', '#/approvals/A1');
    stub.emit('sluice:navigate', 'javascript:alert(1)');
    expect(hashes).toEqual(['#/approvals/A1']);

    const names: string[] = [];
    bridge.onOpenBundle((bundle) => names.push(`${bundle.name}:${bundle.bytes.length}`));
    stub.emit('sluice:open-bundle', { name: 'out.sluice', bytes: new Uint8Array([1, 2, 3]) });
    stub.emit('sluice:open-bundle', { name: 'x.sluice', bytes: 'not bytes' });
    expect(names).toEqual(['out.sluice:3']);
  });
});
