import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

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
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temp = join(dataDir, `.${MASKING_KEY_FILE}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(randomBytes(KEY_BYTES));
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await link(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temp);
  }
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
