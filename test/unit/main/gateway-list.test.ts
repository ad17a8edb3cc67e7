import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Conf from 'conf';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GatewayList, gatewayOrigin, type KeyValueStore } from '../../../main/gateways/gateway-list.js';
import { PLAIN_TEXT_WARNING, SecretVault, type SafeStorageLike } from '../../../main/gateways/secret-vault.js';
import { SettingsStore } from '../../../main/settings/settings-store.js';
import { DEFAULT_SETTINGS } from '../../../main/ipc/desktop-contract.js';

// The remote gateway list and its tokens, in a real JSON store on disk (conf: what electron-store
// is built on), with a keyring that really encrypts (AES-GCM under a key the "OS" holds). The
// canary token must never be in the file when a keyring exists, and the plain-text fallback
// must say so.

/** A keyring: safeStorage's contract with a real cipher. */
function keyring(backend: string, available = true): SafeStorageLike {
  const key = randomBytes(32);
  return {
    isEncryptionAvailable: () => available,
    getSelectedStorageBackend: () => backend,
    encryptString(text) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), body]);
    },
    decryptString(data) {
      const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, 12));
      decipher.setAuthTag(data.subarray(12, 28));
      return Buffer.concat([decipher.update(data.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

let dir: string;
let conf: Conf<Record<string, unknown>>;
let store: KeyValueStore;
const canary = `canary-token-${randomBytes(8).toString('hex')}`;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-gateways-'));
  conf = new Conf<Record<string, unknown>>({ cwd: dir, configName: 'sluice-desktop', projectName: 'sluice-test' });
  store = { get: (key) => conf.get(key), set: (key, value) => conf.set(key, value) };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fileText = () => readFile(conf.path, 'utf8');

describe('the remote gateway list', () => {
  it('keeps a gateway with its token encrypted by the keyring: the token is not in the file, and comes back intact', async () => {
    const vault = new SecretVault(keyring('gnome_libsecret'), 'linux');
    const list = new GatewayList(store, vault, () => 'g1');
    const added = list.add({ label: 'prod-eu', url: 'https://gw.example:7070/some/path', token: canary, fingerprint: 'ab'.repeat(32) });
    expect(added).toEqual({ id: 'g1', label: 'prod-eu', url: 'https://gw.example:7070', fingerprint: `${'AB:'.repeat(31)}AB`, tokenProtected: true });
    expect(await fileText()).not.toContain(canary);
    // A new list over the same file (the app restarted) reads it back.
    const again = new GatewayList({ get: (key) => new Conf<Record<string, unknown>>({ cwd: dir, configName: 'sluice-desktop', projectName: 'sluice-test' }).get(key), set: () => undefined }, vault);
    expect(again.list()).toEqual([added]);
    expect(again.token('g1')).toBe(canary);
    expect(vault.info()).toEqual({ encrypted: true, backend: 'gnome_libsecret' });
  });

  it("warns, and marks the token, where Linux's safeStorage falls back to basic_text (no keyring)", () => {
    const vault = new SecretVault(keyring('basic_text'), 'linux');
    expect(vault.info()).toEqual({ encrypted: false, backend: 'basic_text', warning: PLAIN_TEXT_WARNING });
    const list = new GatewayList(store, vault, () => 'g1');
    expect(list.add({ label: 'dev', url: 'https://dev.example', token: canary }).tokenProtected).toBe(false);
    expect(list.token('g1')).toBe(canary);
  });

  it('stores the token as it is when no encryption exists at all, and says so', async () => {
    const vault = new SecretVault(keyring('unknown', false), 'linux');
    expect(vault.info()).toMatchObject({ encrypted: false, backend: 'none', warning: PLAIN_TEXT_WARNING });
    const list = new GatewayList(store, vault, () => 'g1');
    expect(list.add({ label: 'dev', url: 'https://dev.example', token: canary }).tokenProtected).toBe(false);
    expect(list.token('g1')).toBe(canary);
  });

  it('refuses a URL that would send the token in the clear, or that carries credentials', () => {
    expect(() => gatewayOrigin('http://gw.example:7070')).toThrow(/use https:\/\//);
    expect(() => gatewayOrigin('https://user:pw@gw.example')).toThrow(/must not hold a user or password/);
    expect(() => gatewayOrigin('ftp://gw.example')).toThrow(/expected the gateway's https:\/\/ URL/);
    expect(() => gatewayOrigin('not a url')).toThrow(/expected the gateway's https:\/\/ URL/);
    expect(gatewayOrigin('http://127.0.0.1:7070/')).toBe('http://127.0.0.1:7070');
  });

  it('refuses a duplicate URL or name, forgets a removed gateway, and skips entries it cannot read', () => {
    const vault = new SecretVault(keyring('kwallet5'), 'linux');
    let n = 0;
    const list = new GatewayList(store, vault, () => `g${++n}`);
    list.add({ label: 'a', url: 'https://a.example', token: 't1' });
    expect(() => list.add({ label: 'b', url: 'https://a.example/', token: 't2' })).toThrow(/already in the list/);
    expect(() => list.add({ label: 'a', url: 'https://b.example', token: 't2' })).toThrow(/already called "a"/);
    list.add({ label: 'b', url: 'https://b.example', token: 't2' });
    store.set('gateways', [...(store.get('gateways') as unknown[]), { id: 'broken', label: 7 }]);
    expect(list.list().map((g) => g.label)).toEqual(['a', 'b']);
    expect(list.remove('g1')).toBe(true);
    expect(list.remove('g1')).toBe(false);
    expect(list.list().map((g) => g.id)).toEqual(['g2']);
    expect(() => list.token('g1')).toThrow(/there is no gateway g1/);
  });
});

describe('desktop settings', () => {
  it('start from the defaults, keep changes, and survive a hand-edited bad value', () => {
    const settings = new SettingsStore(store);
    expect(settings.get()).toEqual(DEFAULT_SETTINGS);
    const changes: string[][] = [];
    settings.onChange((_now, changed) => changes.push([...changed]));
    expect(settings.update({ doNotDisturb: true, theme: 'dark' })).toEqual({ ...DEFAULT_SETTINGS, doNotDisturb: true, theme: 'dark' });
    expect(changes).toEqual([['doNotDisturb', 'theme']]);
    store.set('settings', { ...(store.get('settings') as object), theme: 'purple', notifications: 'yes' });
    expect(settings.get()).toEqual({ ...DEFAULT_SETTINGS, doNotDisturb: true });
  });
});
