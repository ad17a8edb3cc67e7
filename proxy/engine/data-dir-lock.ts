import { open, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * One gateway per data_dir: a second one would share the audit store's single writer and, on
 * start, mark the first one's live sessions aborted. The lock is a pid file created exclusively;
 * one left by a gateway that no longer runs (a crash, kill -9) is taken over.
 */
export async function lockDataDir(dataDir: string): Promise<{ release(): Promise<void> }> {
  const file = join(dataDir, 'gateway.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return { release: () => unlink(file).catch(() => undefined) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(holder) && holder > 0 && isRunning(holder)) {
        throw new Error(`data_dir: ${dataDir} is in use by another Sluice gateway (pid ${holder}); give each gateway its own data_dir`, { cause: error });
      }
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`data_dir: cannot lock ${dataDir} (${file} keeps reappearing)`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user, so it is running.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
