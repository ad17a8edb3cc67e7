import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../proxy/config/load-config.js';
import { startEngine } from '../proxy/engine/engine.js';
import { createLogger } from '../proxy/engine/logger.js';
import { createStaticToken, hashToken } from '../proxy/identity/static-tokens.js';

// What the MCP conformance suite (@modelcontextprotocol/conformance) is pointed at: an engine with
// the api listener and a static token, behind a local proxy that adds the token (the suite sends
// no credentials). Used by scripts/mcp-conformance.ts and test/integration/mcp/conformance.test.ts.

export interface ConformanceTarget {
  /** The proxied /mcp URL to give the suite. */
  readonly url: string;
  close(): Promise<void>;
}

export async function startConformanceTarget(): Promise<ConformanceTarget> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-conformance-'));
  const { token } = createStaticToken();
  await writeFile(join(dir, 'sluice.yaml'), ['data_dir: ./data', 'listen:', '  api: { address: "127.0.0.1:0", tls: off }', 'identity:', `  tokens: [{ name: agent, sha256: "${hashToken(token)}", groups: [agents] }]`, ''].join('\n'));
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
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`,
    async close() {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await engine.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
