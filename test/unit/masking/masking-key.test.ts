import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadOrCreateMaskingKey, MASKING_KEY_FILE } from '../../../proxy/masking/masking-key.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-masking-key-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadOrCreateMaskingKey', () => {
  it('creates 32 random bytes readable only by the owner', async () => {
    const key = await loadOrCreateMaskingKey(dir);
    expect(key).toHaveLength(32);
    const file = join(dir, MASKING_KEY_FILE);
    expect(await readFile(file)).toEqual(key);
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('returns the same key on later calls', async () => {
    const first = await loadOrCreateMaskingKey(dir);
    expect(await loadOrCreateMaskingKey(dir)).toEqual(first);
  });

  it('gives different data directories different keys', async () => {
    const other = await mkdtemp(join(tmpdir(), 'sluice-masking-key-'));
    try {
      expect(await loadOrCreateMaskingKey(other)).not.toEqual(await loadOrCreateMaskingKey(dir));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it('ends with one key when many callers create it at once, and leaves no temporary files', async () => {
    const keys = await Promise.all(Array.from({ length: 20 }, () => loadOrCreateMaskingKey(dir)));
    for (const key of keys) expect(key).toEqual(keys[0]);
    expect(await readdir(dir)).toEqual([MASKING_KEY_FILE]);
  });

  it('creates the data directory when it does not exist', async () => {
    const nested = join(dir, 'a', 'b');
    expect(await loadOrCreateMaskingKey(nested)).toHaveLength(32);
  });

  it('refuses a key file of the wrong size, naming it', async () => {
    const file = join(dir, MASKING_KEY_FILE);
    await writeFile(file, Buffer.alloc(16));
    await expect(loadOrCreateMaskingKey(dir)).rejects.toThrow(`masking key ${file} holds 16 bytes, not 32`);
    await writeFile(file, '');
    await expect(loadOrCreateMaskingKey(dir)).rejects.toThrow(/holds 0 bytes/);
  });
});
