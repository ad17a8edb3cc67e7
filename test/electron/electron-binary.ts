import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// The Electron binary the desktop e2e test launches: ELECTRON_PATH, else the one the `electron`
// package downloaded into node_modules/electron/dist (as scripts/start.mjs finds it). Undefined
// here, where installs set ELECTRON_SKIP_BINARY_DOWNLOAD=1.

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

export function electronBinary(): string | undefined {
  if (process.env.ELECTRON_PATH) return existsSync(process.env.ELECTRON_PATH) ? process.env.ELECTRON_PATH : undefined;
  const pkg = join(REPO_ROOT, 'node_modules', 'electron');
  const fallback = process.platform === 'darwin' ? 'Electron.app/Contents/MacOS/Electron' : process.platform === 'win32' ? 'electron.exe' : 'electron';
  const relative = existsSync(join(pkg, 'path.txt')) ? readFileSync(join(pkg, 'path.txt'), 'utf8').trim() : fallback;
  const binary = join(pkg, 'dist', relative);
  return existsSync(binary) ? binary : undefined;
}
