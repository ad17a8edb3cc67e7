// Runs the MCP conformance suite (@modelcontextprotocol/conformance) against Sluice's /mcp, offline:
// an engine with the api listener and a static token, behind a local proxy that adds the token
// (the suite sends no credentials). Usage: npx tsx scripts/mcp-conformance.ts [extra conformance args]
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../proxy/config/load-config.js';
import { startEngine } from '../proxy/engine/engine.js';
import { createLogger } from '../proxy/engine/logger.js';
import { createStaticToken, hashToken } from '../proxy/identity/static-tokens.js';

const dir = await mkdtemp(join(tmpdir(), 'sluice-conformance-'));
const { token } = createStaticToken();
await writeFile(
  join(dir, 'sluice.yaml'),
  ['data_dir: ./data', 'listen:', '  api: { address: "127.0.0.1:0", tls: off }', 'identity:', '  tokens:', `    - { name: agent, sha256: "${hashToken(token)}", groups: [agents] }`, ''].join('\n'),
);
const { config } = await loadConfig(join(dir, 'sluice.yaml'), { env: {} });
const engine = await startEngine(config, { log: createLogger(() => undefined), env: {} });
const target = new URL(engine.api!.url);
const proxy = createServer((req, res) => {
  const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, authorization: `Bearer ${token}` } }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', () => res.destroy());
  req.pipe(upstream);
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`;
// Not spawnSync: the engine and the proxy answer the suite from this process's event loop.
const child = spawn('npx', ['conformance', 'server', '--url', url, ...process.argv.slice(2)], { stdio: 'inherit' });
const status = await new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
proxy.close();
await engine.close();
await rm(dir, { recursive: true, force: true });
process.exit(status);
