import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../proxy/config/load-config.js';
import { startEngine, type Engine } from '../../../proxy/engine/engine.js';
import { createLogger } from '../../../proxy/engine/logger.js';
import { createStaticToken, hashToken } from '../../../proxy/identity/static-tokens.js';

// The MCP conformance suite (@modelcontextprotocol/conformance 0.1.13, offline) against /mcp, for
// the scenarios that test the protocol rather than the suite's own fixture tools: the lifecycle,
// ping, tools/list, tool errors, logging/setLevel, several SSE streams and DNS-rebinding
// protection. The others (image, audio and embedded-resource tools, sampling, elicitation,
// resources, prompts, completions) need tools and capabilities a data gateway does not offer;
// `npx tsx scripts/mcp-conformance.ts` runs the whole suite (10 of 32 pass, see docs/mcp.md).
// The suite sends no credentials, so a local proxy in front adds the token.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// tools-call-simple-text and tools-call-error call the suite's own tools: against this server they
// only show that an unknown tool answers with an error result. tools-call-error is kept for that.
const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'tools-call-error', 'logging-set-level', 'server-sse-multiple-streams', 'dns-rebinding-protection'];

let dir: string;
let engine: Engine;
let proxy: Server;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-conformance-'));
  const { token } = createStaticToken();
  await writeFile(join(dir, 'sluice.yaml'), ['data_dir: ./data', 'listen:', '  api: { address: "127.0.0.1:0", tls: off }', 'identity:', `  tokens: [{ name: agent, sha256: "${hashToken(token)}", groups: [agents] }]`, ''].join('\n'));
  const { config } = await loadConfig(join(dir, 'sluice.yaml'), { env: {} });
  engine = await startEngine(config, { log: createLogger(() => undefined), env: {} });
  const target = new URL(engine.api!.url);
  proxy = createServer((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, authorization: `Bearer ${token}` } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`;
});

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((resolve) => proxy?.close(resolve));
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

function scenario(name: string): Promise<{ code: number | null; output: string }> {
  const cli = join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
  const child = spawn(process.execPath, [cli, 'server', '--url', url, '--scenario', name], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

describe('the MCP conformance suite', () => {
  it.each(SCENARIOS)('passes %s', async (name) => {
    const { code, output } = await scenario(name);
    expect(output).toMatch(/Passed: (\d+)\/\1, 0 failed/);
    expect(code, output).toBe(0);
  });
});
