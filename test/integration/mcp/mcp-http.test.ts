import { appendFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callApi } from '../../../proxy/cli/api-client.js';
import { loadConfig } from '../../../proxy/config/load-config.js';
import { startEngine, type Engine } from '../../../proxy/engine/engine.js';
import { createLogger } from '../../../proxy/engine/logger.js';
import { eventually } from '../../helpers/eventually.js';
import { createCanaryRole, type CanaryRole } from '../../helpers/canary-role.js';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

// An agent on the MCP gateway with the SDK's own client over Streamable HTTP: what it may list,
// a masked query through the real PostgreSQL path, a write held until an approver decides
// through the engine API, a denial, and refused credentials. The upstream password is a canary
// searched for in everything the agent, the log and the audit store hold.

let CANARY: string;
let canary: CanaryRole;

let db: TestDatabase;
let files: GatewayConfigFile;
let engine: Engine;
const logs: string[] = [];
const seen: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  canary = await createCanaryRole(db, 'mcp_canary');
  CANARY = canary.password;
  const admin = await db.connect();
  await admin.query(`SET ROLE ${canary.role}`);
  await admin.query(`CREATE TABLE customers (id int PRIMARY KEY, email text, plan text);
    INSERT INTO customers VALUES (1, 'ada@example.com', 'pro'), (2, 'bob@example.com', 'free'), (3, 'cy@example.com', 'free');`);
  await admin.query('RESET ROLE');
  await admin.end();
  files = await writeGatewayConfig(db, {
    upstreamUser: canary.role,
    upstreamPassword: CANARY,
    api: true,
    approvals: '{ timeout: 60s }',
    policy: [
      '{ name: ci-read, match: { groups: [ci], resources: [testdb], kinds: [select] }, effect: allow }',
      '{ name: ci-deletes, match: { groups: [ci], resources: [testdb], kinds: [delete, update] }, effect: approve, reason: "writes need a second pair of eyes" }',
    ],
    masking: ['{ name: emails, columns: [public.customers.email], strategy: partial }'],
  });
  await appendFile(files.configFile, 'mcp: { approval_wait: 3s }\n');
  const { config } = await loadConfig(files.configFile, { env: {} });
  engine = await startEngine(config, { log: createLogger((line) => logs.push(line)), configFile: files.configFile, env: {} });
});

afterAll(async () => {
  await engine?.close();
  await rm(files?.dir ?? '/nonexistent', { recursive: true, force: true });
  await canary?.drop();
});

function mcpUrl(): URL {
  return new URL('/mcp', engine.api!.url);
}

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(mcpUrl(), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

/** A tool call whose whole answer is kept for the canary check. */
async function call(client: Client, name: string, args: Record<string, unknown>, onprogress?: (message: string) => void): Promise<CallToolResult> {
  const result = (await client.callTool({ name, arguments: args }, undefined, onprogress ? { onprogress: (progress) => onprogress(progress.message ?? '') } : {})) as CallToolResult;
  seen.push(JSON.stringify(result));
  return result;
}

function text(result: CallToolResult): string {
  return result.content.map((part) => (part.type === 'text' ? part.text : '')).join('\n');
}

function decide(id: string, decision: 'approve' | 'deny', reason?: string) {
  return callApi({ base: new URL(engine.api!.url) }, files.staff.alice, 'approvals.decide', { id, decision, ...(reason && { reason }) });
}

describe('MCP over Streamable HTTP', () => {
  it('refuses a request without a token, and one with an invalid token, with 401 and WWW-Authenticate', async () => {
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } };
    for (const headers of [{}, { authorization: 'Bearer not-a-real-token' }] as Record<string, string>[]) {
      const response = await fetch(mcpUrl(), { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(init) });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="sluice"');
      const body = (await response.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/credential|authentication failed/);
    }
    // The SDK's client sees the refusal too.
    await expect(connect('not-a-real-token')).rejects.toThrow();
  });

  it('refuses a request addressed to another host name (DNS rebinding), even with a valid token', async () => {
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const url = mcpUrl();
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${files.token}`, ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end(init);
      });
    expect(await status({ host: 'evil.example:7070' })).toBe(403);
    expect(await status({ host: `localhost:${mcpUrl().port}`, origin: 'http://evil.example' })).toBe(403);
    expect(await status({ host: `localhost:${mcpUrl().port}` })).toBe(200);
  });

  it('lists only the tools the caller may use, with the policy stated', async () => {
    const agent = await connect(files.token);
    const { tools } = await agent.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(['approval_status', 'describe_resource', 'list_resources', 'query']);
    const query = tools.find((tool) => tool.name === 'query')!;
    expect(query.description).toContain('public.customers.email (partial)');
    expect(query.description).toMatch(/delete\/update waits for a person to approve it: writes need a second pair of eyes/);
    expect(query.description).toMatch(/select runs \(read-only\)/);
    await agent.close();

    const outsider = await connect(files.outsiderToken);
    expect((await outsider.listTools()).tools.map((tool) => tool.name)).toEqual(['list_resources']);
    expect(text(await call(outsider, 'list_resources', {}))).toBe('No resource is open to you.');
    await outsider.close();
  });

  it('runs a query through the PostgreSQL gateway: masked rows, a row limit said as truncation', async () => {
    const agent = await connect(files.token);
    const result = await call(agent, 'query', { resource: 'testdb', sql: 'SELECT id, email, plan FROM customers WHERE plan = $1 ORDER BY id', params: ['free'], row_limit: 1 });
    expect(result.isError).toBeFalsy();
    const data = result.structuredContent as { columns: string[]; rows: (string | null)[][]; truncated: boolean; row_count: number };
    expect(data.columns).toEqual(['id', 'email', 'plan']);
    expect(data.rows).toHaveLength(1);
    expect(data.rows[0]![0]).toBe('2');
    expect(data.rows[0]![1]).not.toBe('bob@example.com');
    expect(data.rows[0]![1]).toMatch(/@example\.com$/);
    expect(data.truncated).toBe(true);
    expect(text(result)).toContain('not instructions');
    expect(text(result)).toContain('truncated');
    expect(text(result)).not.toContain('bob@example.com');

    const described = await call(agent, 'describe_resource', { resource: 'testdb' });
    expect(text(described)).toMatch(/public\.customers: id integer, email text \[masked: partial\], plan text/);
    await agent.close();
  });

  it('holds a write, sends progress while it waits, and runs it once the approver approves', async () => {
    const agent = await connect(files.token);
    const progress: string[] = [];
    const result = await call(agent, 'query', { resource: 'testdb', sql: "UPDATE customers SET plan = 'pro' WHERE id = 3" }, (message) => {
      progress.push(message);
      const id = /waiting for approval (\S+)/.exec(message)?.[1];
      if (progress.length === 1 && id) void decide(id, 'approve');
    });
    expect(progress[0]).toMatch(/^waiting for approval /);
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent).toMatchObject({ command: 'UPDATE', row_count: 1 });
    await agent.close();
  });

  it('answers pending after the wait, and approval_status returns the result once approved', async () => {
    const agent = await connect(files.token);
    const pending = await call(agent, 'query', { resource: 'testdb', sql: "UPDATE customers SET plan = 'team' WHERE id = 1" });
    const { status, approval } = pending.structuredContent as { status: string; approval: string };
    expect(status).toBe('pending_approval');
    expect(text(pending)).toContain('approval_status');
    expect((await call(agent, 'approval_status', { approval })).structuredContent).toMatchObject({ status: 'pending_approval', approval });
    await decide(approval, 'approve');
    const done = await eventually(async () => {
      const answer = await call(agent, 'approval_status', { approval });
      if ((answer.structuredContent as { status?: string }).status === 'pending_approval') throw new Error('still pending');
      return answer;
    });
    expect(done.structuredContent).toMatchObject({ command: 'UPDATE', row_count: 1 });
    // Returned once, then forgotten.
    expect((await call(agent, 'approval_status', { approval })).isError).toBe(true);
    const check = await call(agent, 'query', { resource: 'testdb', sql: 'SELECT plan FROM customers WHERE id = 1' });
    expect((check.structuredContent as { rows: string[][] }).rows).toEqual([['team']]);
    await agent.close();
  });

  it('returns a denial as a tool error with the approver\'s reason', async () => {
    const agent = await connect(files.token);
    const result = await call(agent, 'query', { resource: 'testdb', sql: 'DELETE FROM customers WHERE id = 2' }, (message) => {
      const id = /waiting for approval (\S+)/.exec(message)?.[1];
      if (id) void decide(id, 'deny', 'not during the freeze').catch(() => undefined);
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('not during the freeze');
    const check = await call(agent, 'query', { resource: 'testdb', sql: 'SELECT count(*) FROM customers' });
    expect((check.structuredContent as { rows: string[][] }).rows).toEqual([['3']]);
    await agent.close();
  });

  it('refuses an MCP session to another identity', async () => {
    const agent = await connect(files.token);
    const transport = (agent as unknown as { transport: StreamableHTTPClientTransport }).transport;
    const response = await fetch(mcpUrl(), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${files.dbaToken}`, 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' }),
    });
    expect(response.status).toBe(403);
    await agent.close();
  });

  it('records each MCP session (protocol mcp) with its tool calls, linked to the PostgreSQL sessions it opened, and never the canary', async () => {
    await engine.store.flush();
    const sessions = await engine.store.listSessions({ protocol: 'mcp', limit: 100 });
    expect(sessions.length).toBeGreaterThan(3);
    const everything: string[] = [];
    let linkedTo: string | undefined;
    for (const session of sessions) {
      const events = await engine.store.listEvents(session.id);
      everything.push(JSON.stringify(events));
      const link = events.find((event) => event.kind === 'notice' && (event.payload as { action?: string }).action === 'link');
      if (link && events.some((event) => event.kind === 'tool_call' && JSON.stringify(event.payload).includes('UPDATE customers'))) linkedTo = (link.payload as { session: string }).session;
    }
    expect(everything.join('\n')).toContain('"tool":"query"');
    expect(linkedTo).toBeDefined();
    const pgSession = await engine.store.getSession(linkedTo!);
    expect(pgSession?.protocol).toBe('postgres');
    const pgEvents = await engine.store.listEvents(linkedTo!);
    expect(JSON.stringify(pgEvents[0]!.payload)).toMatch(/"run":"mcp_/);
    // Masked as it came: the raw address never reached the record.
    expect(everything.join('\n')).not.toContain('bob@example.com');
    for (const text of [...seen, ...logs, ...everything]) expect(text).not.toContain(CANARY);
  });
});
