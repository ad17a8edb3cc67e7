import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConformanceTarget, type ConformanceTarget } from '../../../tools/mcp-conformance-target.js';

// The MCP conformance suite (@modelcontextprotocol/conformance 0.1.13, offline) against /mcp, for
// the scenarios that test the protocol rather than the suite's own fixture tools: the lifecycle,
// ping, tools/list, tool errors, logging/setLevel, several SSE streams and DNS-rebinding
// protection. The others (image, audio and embedded-resource tools, sampling, elicitation,
// resources, prompts, completions) need tools and capabilities a data gateway does not offer;
// `npx tsx scripts/mcp-conformance.ts` runs the whole suite (10 of 32 pass, see docs/mcp.md).

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// tools-call-simple-text and tools-call-error call the suite's own tools: against this server they
// only show that an unknown tool answers with an error result. tools-call-error is kept for that.
const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'tools-call-error', 'logging-set-level', 'server-sse-multiple-streams', 'dns-rebinding-protection'];

let target: ConformanceTarget;

beforeAll(async () => {
  target = await startConformanceTarget();
});

afterAll(async () => {
  await target?.close();
});

function scenario(name: string): Promise<{ code: number | null; output: string }> {
  const cli = join(ROOT, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
  const child = spawn(process.execPath, [cli, 'server', '--url', target.url, '--scenario', name], { cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
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
