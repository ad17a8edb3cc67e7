// `npm start`: opens the desktop app with the Electron binary (ELECTRON_PATH, else the one the
// `electron` package downloaded into node_modules/electron/dist). Where there is none (installed
// with ELECTRON_SKIP_BINARY_DOWNLOAD=1, or no access to Electron's download host) it says so in
// one line and exits 1: the app did not open, so `npm start && …` must not carry on as if it had.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function electronBinary() {
  if (process.env.ELECTRON_PATH) return existsSync(process.env.ELECTRON_PATH) ? process.env.ELECTRON_PATH : undefined;
  const dist = join(root, 'node_modules', 'electron', 'dist');
  const pathFile = join(root, 'node_modules', 'electron', 'path.txt');
  const fallback = { darwin: 'Electron.app/Contents/MacOS/Electron', win32: 'electron.exe' }[process.platform] ?? 'electron';
  const relative = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : fallback;
  const binary = join(dist, relative);
  return existsSync(binary) ? binary : undefined;
}

const binary = electronBinary();
if (!binary) {
  process.stdout.write('No Electron binary here (node_modules/electron/dist is missing; set ELECTRON_PATH to one): run `npm run demo` for the gateway and its web console instead.\n');
  process.exit(1);
}

// The app runs from the build: compile it first when it is missing.
const built = ['dist/main/electron/app-main.js', 'dist/main/preload.cjs', 'dist/console/desktop.html'].every((file) => existsSync(join(root, file)));
if (!built) {
  const result = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const child = spawn(binary, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
