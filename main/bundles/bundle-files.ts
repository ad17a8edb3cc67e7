import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { BUNDLE_EXTENSION } from '../../proxy/common/bundle-format.js';

// Bundles handed to the app by the OS (a double-clicked .sluice file: argv on Linux and Windows,
// `open-file` on macOS) or chosen with File > Open bundle. Read here, verified in the window with
// the same code as `sluice verify`: no gateway needed.

/** Larger than any bundle the window can verify in memory. */
export const MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;

/** The .sluice paths in a command line (the app's own flags and Chromium's switches skipped). */
export function bundlePathsIn(argv: readonly string[]): string[] {
  return argv.filter((arg) => !arg.startsWith('-') && extname(arg).toLowerCase() === BUNDLE_EXTENSION);
}

export async function readBundle(path: string): Promise<{ name: string; bytes: Uint8Array }> {
  const handle = await open(path, 'r').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot open ${basename(path)} (${error.code ?? error.message})`, { cause: error });
  });
  try {
    const { size } = await handle.stat();
    if (size > MAX_BUNDLE_BYTES) throw new Error(`${basename(path)} is ${Math.round(size / 1024 / 1024)} MB, more than the ${MAX_BUNDLE_BYTES / 1024 / 1024} MB the app opens; verify it with \`sluice verify\` instead`);
    const bytes = new Uint8Array(size);
    await handle.read(bytes, 0, size, 0);
    return { name: basename(path), bytes };
  } finally {
    await handle.close();
  }
}
