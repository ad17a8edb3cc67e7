import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { isHttpsOrLoopback, parseUrl } from '../../proxy/common/urls.js';
import { DesktopFailure } from '../ipc/ipc-binding.js';
import type { SealedSecret, SecretVault } from './secret-vault.js';

// The remote gateways the desktop app connects to (URL, approver token, optional pinned
// certificate), kept in a key-value store (electron-store in the app). Tokens go through the
// vault; nothing here hands a token to the renderer.

/** The part of electron-store the list uses. */
export interface KeyValueStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

const KEY = 'gateways';
export const MAX_GATEWAYS = 20;

const sealed = z.strictObject({ scheme: z.enum(['safe-storage', 'plain']), data: z.string(), protected: z.boolean() });
const stored = z.strictObject({
  id: z.string().min(1),
  label: z.string().min(1),
  url: z.string().min(1),
  fingerprint: z.string().optional(),
  token: sealed,
});

type StoredGateway = z.output<typeof stored>;

export interface GatewayRecord {
  readonly id: string;
  readonly label: string;
  /** The origin (https://host:port). */
  readonly url: string;
  /** Upper-case hex pairs with colons, as Node's X509Certificate.fingerprint256 writes it. */
  readonly fingerprint?: string;
  readonly tokenProtected: boolean;
}

export interface NewGateway {
  readonly label: string;
  readonly url: string;
  readonly token: string;
  readonly fingerprint?: string;
}

/** `AB:CD:…` from any case, with or without colons. */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/:/g, '').toUpperCase();
  return hex.match(/../g)!.join(':');
}

/** The gateway's origin, or a DesktopFailure saying what is wrong with the URL. */
export function gatewayOrigin(text: string): string {
  const url = parseUrl(text.trim());
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new DesktopFailure('invalid_input', 'url: expected the gateway\'s https:// URL (its api listener, as `sluice serve` prints it)');
  if (!isHttpsOrLoopback(url)) throw new DesktopFailure('invalid_input', 'url: use https:// (an approver token must not cross the network in the clear); http:// is accepted for this computer only');
  if (url.username || url.password) throw new DesktopFailure('invalid_input', 'url: must not hold a user or password; the token goes in its own field');
  return url.origin;
}

export class GatewayList {
  readonly #store: KeyValueStore;
  readonly #vault: SecretVault;
  readonly #newId: () => string;

  constructor(store: KeyValueStore, vault: SecretVault, newId: () => string = randomUUID) {
    this.#store = store;
    this.#vault = vault;
    this.#newId = newId;
  }

  list(): GatewayRecord[] {
    return this.#read().map(toRecord);
  }

  /** Validates and stores; throws DesktopFailure for a bad URL, a duplicate or too many. */
  add(gateway: NewGateway): GatewayRecord {
    const url = gatewayOrigin(gateway.url);
    const all = this.#read();
    if (all.length >= MAX_GATEWAYS) throw new DesktopFailure('conflict', `there are already ${MAX_GATEWAYS} gateways; remove one first`);
    if (all.some((entry) => entry.url === url)) throw new DesktopFailure('conflict', `${url} is already in the list`);
    if (all.some((entry) => entry.label === gateway.label)) throw new DesktopFailure('conflict', `label: another gateway is already called ${JSON.stringify(gateway.label)}`);
    const entry: StoredGateway = {
      id: this.#newId(),
      label: gateway.label,
      url,
      ...(gateway.fingerprint !== undefined && { fingerprint: normalizeFingerprint(gateway.fingerprint) }),
      token: this.#vault.seal(gateway.token),
    };
    this.#store.set(KEY, [...all, entry]);
    return toRecord(entry);
  }

  remove(id: string): boolean {
    const all = this.#read();
    const kept = all.filter((entry) => entry.id !== id);
    if (kept.length === all.length) return false;
    this.#store.set(KEY, kept);
    return true;
  }

  /** The gateway's token, decrypted (main process only: it goes into an Authorization header). */
  token(id: string): string {
    const entry = this.#read().find((candidate) => candidate.id === id);
    if (!entry) throw new DesktopFailure('not_found', `there is no gateway ${id}`);
    return this.#vault.open(entry.token as SealedSecret);
  }

  /** Entries that do not parse (a hand-edited or older file) are skipped, never crash the app. */
  #read(): StoredGateway[] {
    const raw = this.#store.get(KEY);
    if (!Array.isArray(raw)) return [];
    return raw.flatMap((item) => {
      const parsed = stored.safeParse(item);
      return parsed.success ? [parsed.data] : [];
    });
  }
}

function toRecord(entry: StoredGateway): GatewayRecord {
  return { id: entry.id, label: entry.label, url: entry.url, ...(entry.fingerprint !== undefined && { fingerprint: entry.fingerprint }), tokenProtected: entry.token.protected };
}
