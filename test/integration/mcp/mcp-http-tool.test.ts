import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../helpers/eventually.js';
import { canaryPassword } from '../../helpers/gateway.js';
import { startHttpTestGateway, startUpstream, type HttpTestGateway, type TestUpstream } from '../http/http-fixture.js';

// The http_request tool: an agent's request goes through the HTTP gateway's own path (credential
// injected there, policy, masking, approvals), never holding the API's credential itself.

const CANARY = canaryPassword();
let upstream: TestUpstream;
let gateway: HttpTestGateway;
const seen: string[] = [];

beforeAll(async () => {
  upstream = await startUpstream((req, res, body) => {
    const authorized = req.headers.authorization === `Bearer ${CANARY}`;
    res.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.method === 'POST' ? { refunded: JSON.parse(body.toString() || '{}') } : { customers: [{ id: 1, email: 'ada@example.com' }], echo: req.headers.authorization }));
  });
  gateway = await startHttpTestGateway({
    api: true,
    secret: CANARY,
    resources: [`{ name: billing-api, type: http, upstream: "${upstream.url}", inject: { header: Authorization, value: "Bearer \${env:API_TOKEN}" } }`],
    policy: [
      '{ name: reads, match: { groups: [ci], methods: [GET] }, effect: allow }',
      '{ name: refunds, match: { groups: [ci], methods: [POST], paths: ["/refunds/**"] }, effect: approve, reason: "refunds need a second pair of eyes" }',
    ],
    masking: ['{ name: emails, detect: [email], strategy: partial }'],
    approvals: '{ timeout: 60s }',
  });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'test-agent', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', gateway.engine.api!.url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
  return client;
}

async function call(client: Client, args: Record<string, unknown>): Promise<CallToolResult> {
  const result = (await client.callTool({ name: 'http_request', arguments: args })) as CallToolResult;
  seen.push(JSON.stringify(result));
  return result;
}

describe('the http_request tool', () => {
  it('calls the API through the gateway: credential injected there, the answer masked, the credential scrubbed', async () => {
    const client = await connect(gateway.token);
    const tools = (await client.listTools()).tools.map((tool) => tool.name);
    expect(tools).toContain('http_request');
    expect(tools).not.toContain('query');
    const result = await call(client, { resource: 'billing-api', method: 'GET', path: '/customers?limit=1' });
    expect(result.isError).toBeFalsy();
    const text = JSON.stringify(result);
    expect(text).toContain('****@example.com');
    expect(text).not.toContain('ada@example.com');
    expect(upstream.seen.at(-1)?.url).toBe('/customers?limit=1');
    // The agent may not bring its own credential.
    const forged = await call(client, { resource: 'billing-api', method: 'GET', path: '/customers', headers: { Authorization: 'Bearer mine' } });
    expect(forged.isError).toBe(true);
    await client.close();
  });

  it('holds a request policy sends to approvers, and runs it once approved', async () => {
    const client = await connect(gateway.token);
    const before = upstream.seen.length;
    const pending = call(client, { resource: 'billing-api', method: 'POST', path: '/refunds/42', body: '{"amount": 10}', headers: { 'content-type': 'application/json' } });
    const approval = await eventually(async () => {
      const [held] = gateway.engine.approvals.list({ status: 'pending' });
      if (!held) throw new Error('not held yet');
      return held;
    }, 20_000);
    expect(approval.statement).toMatch(/^POST \/refunds\/42/);
    expect(approval.resource).toBe('billing-api');
    expect(upstream.seen.length).toBe(before);
    await gateway.engine.approvals.decide(approval.id, { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['approvers'], claims: {} }, { decision: 'approve' });
    const result = await pending;
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(JSON.stringify(result)).toContain('refunded');
    expect(upstream.seen.filter((request) => request.method === 'POST')).toHaveLength(1);
    await client.close();
  });

  it('never shows the agent the API credential', () => {
    expect(seen.length).toBeGreaterThan(0);
    for (const text of seen) expect(text.includes(CANARY)).toBe(false);
    for (const line of gateway.logs) expect(line.includes(CANARY)).toBe(false);
  });
});
