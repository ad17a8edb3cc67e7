import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// The web console: the built renderer (vite build -> dist/console) served on the api listener.
// Static files only; every page gets a strict Content-Security-Policy, and any path that is not
// a file answers index.html so the console's own routes (#/...) and reloads work.

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Scripts only from the console itself; styles inline too (xterm.js writes a <style> element
 * for its theme); connections only back to this origin (API calls and the events WebSocket).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** dist/console beside the package's dist/ (from source: <repo>/dist/console; built: dist/console). */
export function defaultConsoleDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // proxy/api in the source tree, dist/proxy/api once built: the package root is two or three up.
  const root = here.split(sep).includes('dist') ? resolve(here, '..', '..', '..') : resolve(here, '..', '..');
  return join(root, 'dist', 'console');
}

/** Answers GET/HEAD for the console; false when the path is not the console's (the caller answers). */
export async function serveConsole(request: IncomingMessage, response: ServerResponse, dir: string, path: string): Promise<void> {
  const root = resolve(dir);
  let relative: string;
  try {
    relative = normalize(decodeURIComponent(path)).replace(/^([/\\])+/, '');
  } catch {
    return plain(response, 400, 'bad path');
  }
  let file = resolve(root, relative);
  // normalize() cannot climb above '/', but a decoded %2e%2e or backslash could: stay inside.
  if (file !== root && !file.startsWith(root + sep)) return plain(response, 404, 'not found');
  let info = await stat(file).catch(() => undefined);
  if (!info?.isFile()) {
    // Assets that do not exist are 404s; everything else is a console route.
    if (relative.startsWith('assets')) return plain(response, 404, 'not found');
    file = join(root, 'index.html');
    info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) {
      return plain(response, 503, `The web console is not built in ${root}. Run \`npm run build\` (or \`npm run build:console\`), then reload.`);
    }
  }
  const type = TYPES[extname(file)] ?? 'application/octet-stream';
  response.writeHead(200, {
    'content-type': type,
    'content-length': info.size,
    // Hashed asset names never change; index.html must always be fresh to point at them.
    'cache-control': file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    'content-security-policy': CONSOLE_CSP,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
  });
  if (request.method === 'HEAD') return void response.end();
  createReadStream(file).on('error', () => response.destroy()).pipe(response);
}

function plain(response: ServerResponse, status: number, text: string): void {
  response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-content-type-options': 'nosniff' });
  response.end(text);
}
