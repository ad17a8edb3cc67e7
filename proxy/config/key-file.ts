import { randomBytes } from 'node:crypto';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Creates `<dataDir>/<name>` holding `contents` (mode 0600) unless it exists. The contents are
 * written to a private temporary file and linked into place, which fails if the file exists: two
 * processes starting at once end with one key (the caller reads the file back), and no reader
 * ever sees a half-written one. For the gateway's own keys (masking, signing).
 */
export async function createKeyFileOnce(dataDir: string, name: string, contents: Buffer | string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const temp = join(dataDir, `.${name}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(contents);
    await file.sync();
  } finally {
    await file.close();
  }
  try {
    await link(temp, join(dataDir, name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(temp);
  }
}
