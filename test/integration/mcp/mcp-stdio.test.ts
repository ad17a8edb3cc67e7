import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

// `sluice mcp` as an agent launches it: its own process speaking MCP on stdio, to a running
// gateway (--gateway) or to an engine it embeds (--config). The SDK's own stdio client drives it.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'proxy', 'cli', 'main.ts');

let db: TestDatabase;
let gateway: TestGateway;
let embeddedDir: string;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  const admin = await db.connect();
  await admin.query(`CREATE TABLE customers (id int PRIMARY KEY, email text);
    INSERT INTO customers VALUES (1, 'ada@example.com'), (2, 'bob@example.com');`);
  await admin.end();
  gateway = await startTestGateway(db, { api: true, masking: ['{ name: emails, columns: [public.customers.email], strategy: redact }'] });
  // The embedded engine needs a data_dir of its own (one gateway per data_dir).
  embeddedDir = await mkdtemp(join(tmpdir(), 'sluice-mcp-embedded-'));
  await copyFile(gateway.configFile, join(embeddedDir, 'sluice.yaml'));
  await copyFile(join(gateway.dir, 'upstream-password'), join(embeddedDir, 'upstream-password'));
});

afterAll(async () => {
  await gateway?.close();
  await rm(embeddedDir ?? '/nonexistent', { recursive: true, force: true });
  await db?.drop();
});

async function launch(args: readonly string[], token: string): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', CLI, 'mcp', ...args],
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', SLUICE_TOKEN: token },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const client = new Client({ name: 'stdio-agent', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

function rows(result: CallToolResult): unknown {
  return (result.structuredContent as { rows: unknown }).rows;
}

describe('sluice mcp over stdio', () => {
  it('bridges to a running gateway: tools listed for the caller, a masked query recorded on the gateway', async () => {
    const { client } = await launch(['--gateway', gateway.engine.api!.url], gateway.token);
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name)).toContain('query');
    const result = (await client.callTool({ name: 'query', arguments: { resource: 'testdb', sql: 'SELECT id, email FROM customers ORDER BY id' } })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(rows(result))).not.toContain('ada@example.com');
    expect((rows(result) as string[][])[0]![0]).toBe('1');
    await client.close();
    await gateway.engine.store.flush();
    const sessions = await gateway.engine.store.listSessions({ protocol: 'mcp' });
    expect(sessions.length).toBeGreaterThan(0);
  });

  it('a caller with no resources sees fewer tools', async () => {
    const { client } = await launch(['--gateway', gateway.engine.api!.url], gateway.outsiderToken);
    expect((await client.listTools()).tools.map((tool) => tool.name)).toEqual(['list_resources']);
    await client.close();
  });

  it('embeds an engine with --config and serves the same tools from it', async () => {
    const { client, stderr } = await launch(['--config', join(embeddedDir, 'sluice.yaml')], gateway.token);
    const result = (await client.callTool({ name: 'query', arguments: { resource: 'testdb', sql: 'SELECT email FROM customers WHERE id = 2' } })) as CallToolResult;
    expect(result.isError).toBeFalsy();
    expect(JSON.stringify(rows(result))).not.toContain('bob@example.com');
    await client.close();
    // Logs went to stderr: stdout carried only the protocol (the client would have failed to parse anything else).
    expect(stderr()).toMatch(/mcp session started/);
  });
});
