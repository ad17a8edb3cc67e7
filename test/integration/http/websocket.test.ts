import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { eventually } from '../../helpers/eventually.js';
import { startHttpTestGateway, type HttpTestGateway } from './http-fixture.js';

// WebSocket upgrades through the gateway: decided as method WEBSOCKET, frames passed through and
// recorded, text toward a masked caller masked like a response body, binary refused for it.

let upstreamServer: Server;
let wss: WebSocketServer;
let gateway: HttpTestGateway;
const upstreamSaw: { headers: Record<string, unknown>; messages: string[] }[] = [];

beforeAll(async () => {
  upstreamServer = createServer();
  wss = new WebSocketServer({ server: upstreamServer });
  wss.on('connection', (socket, req) => {
    const seen = { headers: { ...req.headers }, messages: [] as string[] };
    upstreamSaw.push(seen);
    socket.send(JSON.stringify({ hello: 'welcome', owner: 'owner@example.com', customers: [{ email: 'ada@example.com', id: 1 }] }));
    socket.on('message', (data, binary) => {
      seen.messages.push(data.toString());
      if (data.toString() === 'binary please') socket.send(Buffer.from([1, 2, 3]), { binary: true });
      else socket.send(binary ? data : `echo: ${data.toString()}`);
    });
  });
  await new Promise<void>((resolve) => upstreamServer.listen(0, '127.0.0.1', resolve));
  const port = (upstreamServer.address() as AddressInfo).port;
  gateway = await startHttpTestGateway({
    resources: [`{ name: live, type: http, upstream: "http://127.0.0.1:${port}", inject: { header: X-Api-Key, value: "\${env:API_TOKEN}" } }`],
    policy: [
      '{ name: ci-socket, match: { groups: [ci], resources: [live], methods: [WEBSOCKET], paths: [/socket] }, effect: allow }',
      '{ name: support-get, match: { groups: [support], resources: [live], methods: [GET] }, effect: allow }',
    ],
    masking: ['{ name: emails, detect: email, strategy: partial }', '{ name: customer-email, json_paths: ["$.customers[*].email"], strategy: redact }'],
  });
});

afterAll(async () => {
  await gateway?.close();
  wss?.close();
  await new Promise((resolve) => upstreamServer?.close(resolve));
});

function open(token: string, path = '/r/live/socket'): Promise<{ socket: WebSocket; messages: (string | Buffer)[]; closed: Promise<{ code: number; reason: string }> }> {
  const socket = new WebSocket(`${gateway.base.replace('http', 'ws')}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const messages: (string | Buffer)[] = [];
  socket.on('message', (data: Buffer, binary) => messages.push(binary ? data : data.toString()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, messages, closed }));
    socket.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
    socket.once('error', reject);
  });
}

describe('WebSocket upgrades', () => {
  it('passes frames both ways, masking text toward a masked caller, with the credential injected upstream', async () => {
    const { socket, messages } = await open(gateway.token);
    await eventually(async () => expect(messages).toHaveLength(1));
    expect(JSON.parse(messages[0] as string)).toEqual({ hello: 'welcome', owner: '****@example.com', customers: [{ email: '[redacted]', id: 1 }] });
    socket.send('mail me at eve@example.com');
    await eventually(async () => expect(messages).toHaveLength(2));
    expect(messages[1]).toBe('echo: mail me at ****@example.com');
    const seen = upstreamSaw.at(-1)!;
    // The client's text reached the upstream unmasked (masking is for what callers receive).
    expect(seen.messages).toEqual(['mail me at eve@example.com']);
    expect(seen.headers['x-api-key']).toBe('upstream-secret-value-0001');
    expect(seen.headers.authorization).toBeUndefined();
    // No extension negotiated: frames stay readable to the gateway.
    expect(seen.headers['sec-websocket-extensions']).toBeUndefined();
    socket.close(1000, 'done');
  });

  it('closes the connection (1003) when the upstream sends binary a masked caller cannot receive', async () => {
    const { socket, messages, closed } = await open(gateway.token);
    await eventually(async () => expect(messages).toHaveLength(1));
    socket.send('binary please');
    const { code, reason } = await closed;
    expect(code).toBe(1003);
    expect(reason).toMatch(/binary message cannot be masked/);
  });

  it('refuses the upgrade when no rule allows method WEBSOCKET (a GET rule does not)', async () => {
    await expect(open(gateway.supportToken)).rejects.toThrow('refused with 403');
    await expect(open(gateway.token, '/r/live/other')).rejects.toThrow('refused with 403');
    await expect(open('wrong')).rejects.toThrow('refused with 401');
  });

  it('records the messages (sampled, masked) and a summary when the connection ends', async () => {
    const { socket, messages, closed } = await open(gateway.token);
    await eventually(async () => expect(messages).toHaveLength(1));
    socket.send('card 4111 1111 1111 1111 from bob@example.org');
    await eventually(async () => expect(messages).toHaveLength(2));
    socket.close(1000);
    await closed;
    await eventually(async () => {
      await gateway.engine.store.flush();
      const sessions = await gateway.engine.store.listSessions({ protocol: 'http' });
      const events = (await Promise.all(sessions.map((session) => gateway.engine.store.listEvents(session.id)))).flat();
      const inputs = events.filter((event) => event.kind === 'input').map((event) => event.payload as { sample?: string });
      expect(inputs.some((payload) => payload.sample === 'card 4111 1111 1111 1111 from ****@example.org')).toBe(true);
      const outputs = events.filter((event) => event.kind === 'output').map((event) => event.payload as { sample?: string; type: string });
      expect(outputs.some((payload) => payload.type === 'text' && payload.sample?.includes('"owner":"****@example.com"'))).toBe(true);
      const summaries = events.filter((event) => event.kind === 'http_response' && (event.payload as { status: number }).status === 101);
      expect(summaries.length).toBeGreaterThanOrEqual(3);
      expect(summaries.map((event) => (event.payload as { websocket: { messages_in: number } }).websocket.messages_in)).toContain(2);
      expect(JSON.stringify(events)).not.toContain('bob@example.org');
      expect(JSON.stringify(events)).not.toContain('ada@example.com');
    });
  });
});
