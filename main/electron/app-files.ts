import { readFile } from 'node:fs/promises';
import { extname, normalize, resolve, sep } from 'node:path';

// What the app:// scheme serves: the built renderer (dist/console), nothing outside it, each
// response with the desktop page's Content-Security-Policy. Plain: no Electron here, so the path
// rules are tested in Node.

export const APP_SCHEME = 'sluice';
export const APP_HOST = 'app';
export const APP_PAGE = `${APP_SCHEME}://${APP_HOST}/desktop.html`;

/**
 * Only the app's own files: scripts and workers from itself, inline styles (xterm.js writes a
 * <style> for its theme), no network at all (everything goes through the preload's IPC object).
 */
export const DESKTOP_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "worker-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

export interface AppFileResponse {
  readonly status: 200 | 400 | 404;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | string;
}

/** Answers one app:// request URL from `dir`. */
export async function appFile(dir: string, requestUrl: string): Promise<AppFileResponse> {
  const headers = { 'content-security-policy': DESKTOP_CSP, 'x-content-type-options': 'nosniff' };
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return { status: 400, headers, body: 'bad URL' };
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return { status: 404, headers, body: 'not found' };
  const root = resolve(dir);
  let relative: string;
  try {
    relative = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
  } catch {
    return { status: 400, headers, body: 'bad path' };
  }
  const file = resolve(root, relative || 'desktop.html');
  // A decoded %2e%2e or backslash must not climb out of the renderer's folder.
  if (!file.startsWith(root + sep)) return { status: 404, headers, body: 'not found' };
  const body = await readFile(file).catch(() => undefined);
  if (!body) return { status: 404, headers, body: 'not found' };
  return { status: 200, headers: { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }, body };
}
