import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

// Replacing the gateway's config file from the engine API: the old file is kept as a backup,
// the new text goes to a temporary file in the same directory, is synced, and is renamed over
// the original, so a reader (a restart, `sluice check-config`) sees the old file or the new
// one, never half of one. The file keeps its mode and, where the process may, its owner.

export type ConfigWriteProblem =
  /** The file (or its directory) may not be written: a file without write bits counts, even for root. */
  | 'read_only'
  /** The file changed on disk since the caller read it. */
  | 'changed'
  /** Reading or writing failed (ENOSPC, EIO, ...). */
  | 'io';

export class ConfigWriteError extends Error {
  constructor(
    readonly problem: ConfigWriteProblem,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'ConfigWriteError';
  }
}

export interface ConfigFileState {
  /** The real path (symlinks resolved): what is replaced, so a link keeps pointing at it. */
  readonly path: string;
  readonly content: Buffer;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
}

/** Reads the file and what replacing it must keep. */
export async function readConfigFile(file: string): Promise<ConfigFileState> {
  try {
    const path = await realpath(file);
    const info = await stat(path);
    const content = await readFile(path);
    return { path, content, mode: info.mode & 0o7777, uid: info.uid, gid: info.gid };
  } catch (error) {
    throw new ConfigWriteError('io', `cannot read the config file ${file} (${codeOf(error)})`, { cause: error });
  }
}

/**
 * Checks that `state.path` may be replaced: the file has a write bit and this process may write
 * it and its directory. A config an operator made read-only (chmod a-w) stays untouched even
 * when the gateway runs as root, who would otherwise write anything.
 */
export async function checkWritable(state: ConfigFileState): Promise<void> {
  if ((state.mode & 0o222) === 0) {
    throw new ConfigWriteError('read_only', `the config file ${state.path} is read-only (mode ${octal(state.mode)}); make it writable (chmod u+w) to save from the console`);
  }
  for (const [path, what] of [
    [state.path, 'the config file'],
    [dirname(state.path), 'the directory of the config file'],
  ] as const) {
    try {
      await access(path, constants.W_OK);
    } catch (error) {
      throw new ConfigWriteError('read_only', `this gateway may not write ${what} ${path} (${codeOf(error)})`, { cause: error });
    }
  }
}

/**
 * Writes `content` over `state.path` atomically, the previous bytes (`state.content`) kept as
 * `<file>.<time>.bak` beside it. Refuses with `changed` when the file no longer holds
 * `state.content` just before the rename. On any failure nothing is left behind.
 */
export async function replaceConfigFile(state: ConfigFileState, content: string, now = new Date()): Promise<{ readonly backup: string }> {
  await checkWritable(state);
  const created: string[] = [];
  try {
    const backup = await writeNew(state, `${state.path}.${now.toISOString().replace(/:/g, '-')}`, '.bak', state.content, created);
    const temporary = await writeNew(state, join(dirname(state.path), `.${basename(state.path)}.${randomBytes(6).toString('hex')}`), '.tmp', Buffer.from(content, 'utf8'), created);
    // Someone may have edited the file by hand meanwhile: their change must not vanish silently.
    const current = await readFile(state.path).catch((error: unknown) => {
      throw new ConfigWriteError('io', `cannot read the config file ${state.path} again before replacing it (${codeOf(error)})`, { cause: error });
    });
    if (!current.equals(state.content)) {
      throw new ConfigWriteError('changed', `the config file ${state.path} changed on disk while saving; reload the rules and save again`);
    }
    await rename(temporary, state.path);
    created.splice(created.indexOf(temporary), 1);
    await syncDirectory(dirname(state.path));
    return { backup };
  } catch (error) {
    await Promise.all(created.map((path) => unlink(path).catch(() => undefined)));
    if (error instanceof ConfigWriteError) throw error;
    throw new ConfigWriteError(codeOf(error) === 'EACCES' || codeOf(error) === 'EROFS' || codeOf(error) === 'EPERM' ? 'read_only' : 'io', `cannot write the config file ${state.path} (${codeOf(error)})`, { cause: error });
  }
}

/** Creates `<stem><suffix>` (or `<stem>-2<suffix>`, ... when taken) with the file's mode and owner, synced. */
async function writeNew(state: ConfigFileState, stem: string, suffix: string, data: Buffer, created: string[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const path = attempt === 1 ? `${stem}${suffix}` : `${stem}-${attempt}${suffix}`;
    let handle;
    try {
      handle = await open(path, 'wx', 0o600);
    } catch (error) {
      if (codeOf(error) === 'EEXIST' && attempt < 100) continue;
      throw error;
    }
    created.push(path);
    try {
      // Owner before mode: chown clears set-id bits. A process that may not chown (not root)
      // leaves the file its own, which it could write anyway.
      await handle.chown(state.uid, state.gid).catch(() => undefined);
      await handle.chmod(state.mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    return path;
  }
}

/** So the rename itself survives a crash. Some file systems cannot sync a directory: that is not a failure. */
async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r').catch(() => undefined);
  if (!handle) return;
  try {
    await handle.sync();
  } catch {
    // EINVAL / EISDIR on file systems without directory fsync.
  } finally {
    await handle.close();
  }
}

function codeOf(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? (error instanceof Error ? error.message : String(error));
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}
