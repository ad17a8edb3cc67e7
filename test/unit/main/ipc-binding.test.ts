import { describe, expect, it } from 'vitest';
import { API_EVENTS, API_METHODS, type ApiEventMessage, type ApiMethodName } from '../../../proxy/api/api-contract.js';
import { API_CHANNEL_PREFIX, DESKTOP_CHANNEL_PREFIX } from '../../../main/ipc/channels.js';
import { DEFAULT_SETTINGS, DESKTOP_METHODS } from '../../../main/ipc/desktop-contract.js';
import { DesktopFailure, EventPush, ipcHandlers, type DesktopHandlers, type SenderInfo } from '../../../main/ipc/ipc-binding.js';
import type { ApiRole } from '../../../proxy/api/api-roles.js';

// The IPC binding is generated from the API tables: every method gets a channel, every call is
// checked for its sender (our window's main frame on the app page) and its input schema before
// anything runs. The engine side here records what reached it.

const WINDOW_ID = 7;
const window = { webContentsId: () => WINDOW_ID, protocol: 'sluice:', host: 'app' };
const ours: SenderInfo = { webContentsId: WINDOW_ID, frameUrl: 'sluice://app/desktop.html#/approvals', isMainFrame: true };

function desktopHandlers(overrides: Partial<DesktopHandlers> = {}): DesktopHandlers {
  return {
    'app.info': async () => {
      throw new Error('not needed');
    },
    'settings.get': async () => DEFAULT_SETTINGS,
    'settings.update': async (change) => ({ ...DEFAULT_SETTINGS, ...change }),
    'gateways.list': async () => [],
    'gateways.add': async () => {
      throw new DesktopFailure('unauthenticated', 'https://gw.example does not accept this token');
    },
    'gateways.remove': async () => ({ removed: false }),
    ...overrides,
  };
}

function binding() {
  const reached: { method: string; input: unknown }[] = [];
  const refused: string[] = [];
  const desktop = desktopHandlers();
  const handlers = ipcHandlers({
    window,
    engine: {
      call: async (method, input) => {
        reached.push({ method, input });
        return { ok: true, value: { method } };
      },
    },
    desktop,
    onRefused: (channel) => refused.push(channel),
  });
  return { handlers, reached, refused };
}

describe('the IPC binding', () => {
  it('binds every engine API method and every desktop method, and nothing else', () => {
    const { handlers } = binding();
    const expected = [...Object.keys(API_METHODS).map((name) => API_CHANNEL_PREFIX + name), ...Object.keys(DESKTOP_METHODS).map((name) => DESKTOP_CHANNEL_PREFIX + name)];
    expect([...handlers.keys()].sort()).toEqual(expected.sort());
  });

  it('hands a valid call from the window to the engine', async () => {
    const { handlers, reached } = binding();
    const result = await handlers.get(`${API_CHANNEL_PREFIX}approvals.list`)!(ours, { status: 'pending', limit: 10 });
    expect(result).toEqual({ ok: true, value: { method: 'approvals.list' } });
    expect(reached).toEqual([{ method: 'approvals.list', input: { status: 'pending', limit: 10 } }]);
  });

  it("refuses input the method's schema refuses, naming the field, before the engine sees it", async () => {
    const { handlers, reached } = binding();
    const decide = handlers.get(`${API_CHANNEL_PREFIX}approvals.decide`)!;
    expect(await decide(ours, { id: 'A1', decision: 'maybe' })).toEqual({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('decision: must be one of approve, deny') } });
    expect(await decide(ours, { id: 'A1', decision: 'approve', sneaky: true })).toEqual({ ok: false, error: { code: 'invalid_input', message: 'sneaky: unknown field' } });
    expect(await decide(ours, 'DROP TABLE users')).toEqual({ ok: false, error: { code: 'invalid_input', message: 'input: expected a JSON object' } });
    expect(reached).toEqual([]);
  });

  it('checks every engine method with its own schema (an unknown field is refused on each)', async () => {
    const { handlers, reached } = binding();
    for (const name of Object.keys(API_METHODS) as ApiMethodName[]) {
      const result = await handlers.get(API_CHANNEL_PREFIX + name)!(ours, { notAField: 1 });
      expect(result.ok, name).toBe(false);
    }
    expect(reached).toEqual([]);
  });

  it('refuses calls from another window, an iframe, or a page that is not the app', async () => {
    const { handlers, reached, refused } = binding();
    const list = handlers.get(`${API_CHANNEL_PREFIX}approvals.list`)!;
    const foreign: SenderInfo[] = [
      { ...ours, webContentsId: 8 },
      { ...ours, isMainFrame: false },
      { ...ours, frameUrl: 'https://evil.example/desktop.html' },
      { ...ours, frameUrl: 'sluice://other/desktop.html' },
      { ...ours, frameUrl: 'file:///tmp/desktop.html' },
      { ...ours, frameUrl: undefined },
    ];
    for (const sender of foreign) {
      expect(await list(sender, {})).toEqual({ ok: false, error: { code: 'forbidden', message: expect.stringContaining('did not come from the Sluice window') } });
    }
    expect(await handlers.get(`${DESKTOP_CHANNEL_PREFIX}gateways.list`)!(foreign[0]!, {})).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    expect(reached).toEqual([]);
    expect(refused).toHaveLength(foreign.length + 1);
  });

  it("runs desktop methods on checked input and answers their refusals in the API's shape", async () => {
    const { handlers } = binding();
    const update = handlers.get(`${DESKTOP_CHANNEL_PREFIX}settings.update`)!;
    expect(await update(ours, { theme: 'dark' })).toEqual({ ok: true, value: { ...DEFAULT_SETTINGS, theme: 'dark' } });
    expect(await update(ours, { theme: 'purple' })).toEqual({ ok: false, error: { code: 'invalid_input', message: 'theme: must be one of system, light, dark' } });
    const add = handlers.get(`${DESKTOP_CHANNEL_PREFIX}gateways.add`)!;
    expect(await add(ours, { label: 'prod', url: 'https://gw.example', token: 't', fingerprint: 'nope' })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('fingerprint: must be a SHA-256 fingerprint') } });
    expect(await add(ours, { label: 'prod', url: 'https://gw.example', token: 't' })).toEqual({ ok: false, error: { code: 'unauthenticated', message: 'https://gw.example does not accept this token' } });
  });

  it('never passes an unexpected failure through: the window gets a plain message, the log the detail', async () => {
    const errors: unknown[] = [];
    const handlers = ipcHandlers({
      window,
      engine: { call: async () => ({ ok: true, value: null }) },
      desktop: desktopHandlers({
        'app.info': async () => {
          throw new Error('disk on fire at /home/secret');
        },
      }),
      onError: (_channel, error) => errors.push(error),
    });
    expect(await handlers.get(`${DESKTOP_CHANNEL_PREFIX}app.info`)!(ours, {})).toEqual({ ok: false, error: { code: 'internal', message: 'app.info failed in the desktop app; its log has the detail' } });
    expect(errors).toHaveLength(1);
  });
});

describe('event pushes', () => {
  const message = (event: keyof typeof API_EVENTS) => ({ event, payload: {} }) as unknown as ApiEventMessage;

  it('pushes only while the window is subscribed, and only the events its roles receive', () => {
    const sent: string[] = [];
    const approverOnly = new EventPush(new Set<ApiRole>(['approvers']), (m) => sent.push(m.event));
    expect(approverOnly.push(message('approval.requested'))).toBe(false);
    approverOnly.setSubscribed(true);
    for (const name of Object.keys(API_EVENTS) as (keyof typeof API_EVENTS)[]) approverOnly.push(message(name));
    expect(sent).toEqual(['approval.requested', 'approval.decided']);

    const operator = new EventPush(new Set<ApiRole>(['approvers', 'auditors', 'admins']), (m) => sent.push(m.event));
    operator.setSubscribed(true);
    sent.length = 0;
    for (const name of Object.keys(API_EVENTS) as (keyof typeof API_EVENTS)[]) operator.push(message(name));
    expect(sent).toEqual(Object.keys(API_EVENTS));
    operator.setSubscribed(false);
    expect(operator.push(message('session.started'))).toBe(false);
  });
});
