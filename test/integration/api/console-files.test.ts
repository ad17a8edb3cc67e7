import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveConsole } from '../../../proxy/api/console-files.js';

// The web console's static files as `sluice serve` answers them: the page with its CSP, hashed
// assets, console routes falling back to the page, and nothing outside the console directory.

let parent: string;
let dir: string;
let server: Server;
let base: string;

beforeAll(async () => {
  parent = await mkdtemp(join(tmpdir(), 'sluice-console-files-'));
  dir = join(parent, 'console');
  await mkdir(join(dir, 'assets'), { recursive: true });
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Sluice</title>');
  await writeFile(join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
  await writeFile(join(parent, 'secret.txt'), 'outside the console');
  server = createServer((req, res) => void serveConsole(req, res, dir, (req.url ?? '/').split('?')[0]!));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(parent, { recursive: true, force: true });
});

/** A GET with the path sent exactly as written (fetch would normalize `..` away). */
function rawGet(path: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/`, { path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web console files', () => {
  it('serves the page with a strict Content-Security-Policy and no caching', async () => {
    const page = await rawGet('/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Sluice</title>');
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(page.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(page.headers['cache-control']).toBe('no-cache');
  });

  it('serves hashed assets as immutable, and a missing asset as 404 rather than the page', async () => {
    const asset = await rawGet('/assets/app-1234.js');
    expect(asset.status).toBe(200);
    expect(asset.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect((await rawGet('/assets/app-9999.js')).status).toBe(404);
  });

  it('answers any other path with the page, so console routes and reloads work', async () => {
    const route = await rawGet('/sessions/01HXYZ');
    expect(route.status).toBe(200);
    expect(route.body).toContain('<title>Sluice</title>');
  });

  it('never serves a file outside the console directory', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%5c..%5csecret.txt', '/%2e%2e%2f%2e%2e%2fetc%2fpasswd']) {
      const answer = await rawGet(path);
      expect(answer.body, path).not.toContain('outside the console');
      expect(answer.body, path).not.toContain('root:');
    }
    expect((await rawGet('/%E0%A4%A')).status).toBe(400);
  });

  it('says how to build the console when it is not built', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'sluice-console-empty-'));
    const lone = createServer((req, res) => void serveConsole(req, res, empty, req.url ?? '/'));
    await new Promise<void>((resolve) => lone.listen(0, '127.0.0.1', resolve));
    const answer = await fetch(`http://127.0.0.1:${(lone.address() as AddressInfo).port}/`);
    expect(answer.status).toBe(503);
    expect(await answer.text()).toContain('npm run build');
    await new Promise((resolve) => lone.close(resolve));
    await rm(empty, { recursive: true, force: true });
  });
});
