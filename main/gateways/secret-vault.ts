import type { SecretStorageInfo } from '../ipc/desktop-contract.js';

// Gateway tokens at rest: Electron's safeStorage (Keychain on macOS, DPAPI on Windows, a Secret
// Service keyring or KWallet on Linux). On Linux without a keyring safeStorage falls back to
// `basic_text`, a key built into Chromium: that is plain text to anyone who can read the file,
// and the settings screen says so before a token is stored.

/** The part of Electron's safeStorage the vault uses. */
export interface SafeStorageLike {
  isEncryptionAvailable(): boolean;
  encryptString(plainText: string): Buffer;
  decryptString(encrypted: Buffer): string;
  /** Linux only. */
  getSelectedStorageBackend?(): string;
}

export interface SealedSecret {
  /** `safe-storage`: encryptString's output; `plain`: the text itself (no encryption available at all). */
  readonly scheme: 'safe-storage' | 'plain';
  /** base64 */
  readonly data: string;
  /** Whether the OS protected it (false for `plain` and for Linux's basic_text backend). */
  readonly protected: boolean;
}

export const PLAIN_TEXT_WARNING =
  'No system keyring is available, so gateway tokens are stored in plain text in this app\'s settings file: anyone who can read your files can read them. Install and unlock a keyring (GNOME Keyring or KWallet), then re-add the gateways.';

export class SecretVault {
  readonly #storage: SafeStorageLike;
  readonly #platform: NodeJS.Platform;

  constructor(storage: SafeStorageLike, platform: NodeJS.Platform) {
    this.#storage = storage;
    this.#platform = platform;
  }

  info(): SecretStorageInfo {
    const available = this.#storage.isEncryptionAvailable();
    const backend = this.#platform === 'linux' ? (this.#storage.getSelectedStorageBackend?.() ?? 'unknown') : this.#platform === 'darwin' ? 'keychain' : this.#platform === 'win32' ? 'dpapi' : 'unknown';
    const encrypted = available && backend !== 'basic_text';
    return { encrypted, backend: available ? backend : 'none', ...(!encrypted && { warning: PLAIN_TEXT_WARNING }) };
  }

  seal(secret: string): SealedSecret {
    const { encrypted } = this.info();
    if (!this.#storage.isEncryptionAvailable()) return { scheme: 'plain', data: Buffer.from(secret, 'utf8').toString('base64'), protected: false };
    return { scheme: 'safe-storage', data: this.#storage.encryptString(secret).toString('base64'), protected: encrypted };
  }

  /** Throws when the secret cannot be decrypted (the keyring changed or is locked). */
  open(sealed: SealedSecret): string {
    const bytes = Buffer.from(sealed.data, 'base64');
    if (sealed.scheme === 'plain') return bytes.toString('utf8');
    if (!this.#storage.isEncryptionAvailable()) throw new Error('the system keyring that encrypted this token is not available now; unlock it, or remove and re-add the gateway');
    return this.#storage.decryptString(bytes);
  }
}
