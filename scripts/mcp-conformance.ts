// Runs the MCP conformance suite (@modelcontextprotocol/conformance) against Sluice's /mcp,
// offline. Usage: npx tsx scripts/mcp-conformance.ts [extra conformance args, e.g. --scenario ping]
import { spawn } from 'node:child_process';
import { startConformanceTarget } from '../tools/mcp-conformance-target.js';

const target = await startConformanceTarget();
// Not spawnSync: the engine and the proxy answer the suite from this process's event loop.
const child = spawn('npx', ['conformance', 'server', '--url', target.url, ...process.argv.slice(2)], { stdio: 'inherit' });
const status = await new Promise<number>((resolve) => child.once('exit', (code) => resolve(code ?? 1)));
await target.close();
process.exit(status);
