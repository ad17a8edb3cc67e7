import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createKeyFileOnce } from '../config/key-file.js';

// The key behind the hash and fake strategies. It stays on the gateway's host (never in config
// or the audit), so masked values cannot be reversed by hashing guesses elsewhere, and it stays
// the same across restarts, so the same value masks the same way and joins still work.

export const MASKING_KEY_FILE = 'masking.key';
const KEY_BYTES = 32;

/**
 * Reads `<dataDir>/masking.key`, creating it (32 random bytes, mode 0600) on first use. The new
 * key is written to a private temporary file and linked into place, which fails if the file
 * exists: two processes starting at once end with one key, and no reader sees a half-written one.
 */
export async function loadOrCreateMaskingKey(dataDir: string): Promise<Buffer> {
  const path = join(dataDir, MASKING_KEY_FILE);
  const existing = await readKey(path);
  if (existing) return existing;
  await createKeyFileOnce(dataDir, MASKING_KEY_FILE, randomBytes(KEY_BYTES));
  const key = await readKey(path);
  if (!key) throw new Error(`masking key ${path} disappeared while it was being created; start again`);
  return key;
}

/** The key in `path`, undefined when there is no such file; an Error when it is not 32 bytes. */
async function readKey(path: string): Promise<Buffer | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  if (bytes.length !== KEY_BYTES) {
    throw new Error(
      `masking key ${path} holds ${bytes.length} bytes, not ${KEY_BYTES}: restore the original file, or delete it to create a new key (hashed and faked values will then change)`,
    );
  }
  return bytes;
}
