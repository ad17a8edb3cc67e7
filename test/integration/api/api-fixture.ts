import { policyView } from '../../../proxy/engine/policy-view.js';
import { previewMasking } from '../../../proxy/masking/masking-preview.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { ApiServices } from '../../../proxy/api/api-contract.js';
import { startApiListener, type ApiListener } from '../../../proxy/api/api-server.js';
import { createApprovalBroker } from '../../../proxy/approvals/approval-broker.js';
import type { ApprovalBroker, ApprovalRequest } from '../../../proxy/approvals/approval-types.js';
import { openAuditStore } from '../../../proxy/audit/audit-store.js';
import type { AuditStore, SessionRecording } from '../../../proxy/audit/audit-types.js';
import { configSchema, type Config } from '../../../proxy/config/schema.js';
import { EngineEvents } from '../../../proxy/engine/engine-events.js';
import { createLogger } from '../../../proxy/engine/logger.js';
import { Authenticator } from '../../../proxy/identity/authenticator.js';
import { createStaticToken } from '../../../proxy/identity/static-tokens.js';
import { loadOrCreateSelfSigned, type TlsMaterial } from '../../../proxy/postgres/tls-material.js';

// A real engine API server on 127.0.0.1:0 over real services: static tokens (and optionally an
// OIDC issuer) from a parsed config, the approval broker, a SQLite audit store, the event bus.

export interface ApiFixtureOptions {
  readonly tls?: boolean;
  /** An OIDC issuer whose tokens get the group `approvers`. */
  readonly oidcIssuer?: string;
  readonly quorum?: number;
  readonly maxBufferedBytes?: number;
}

export const PEOPLE = {
  alice: ['approvers'],
  bob: ['approvers'],
  carol: ['auditors'],
  'ci-job': ['ci'],
} as const;
export type Person = keyof typeof PEOPLE;

export interface ApiFixture {
  readonly dir: string;
  readonly listener: ApiListener;
  readonly url: string;
  readonly broker: ApprovalBroker;
  readonly events: EngineEvents;
  readonly store: AuditStore;
  readonly config: Config;
  readonly tls: TlsMaterial | undefined;
  readonly tokens: Readonly<Record<Person, string>>;
  readonly logs: string[];
  /** Holds a statement for approval as a gateway would, in a real recorded session. */
  hold(overrides?: Partial<ApprovalRequest>): ReturnType<ApprovalBroker['request']>;
  close(): Promise<void>;
}

export async function startApiFixture(options: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-api-'));
  const created = Object.fromEntries(Object.keys(PEOPLE).map((name) => [name, createStaticToken()])) as Record<Person, ReturnType<typeof createStaticToken>>;
  const config = configSchema.parse({
    data_dir: join(dir, 'data'),
    identity: {
      tokens: Object.entries(PEOPLE).map(([name, groups]) => ({ name, sha256: created[name as Person].sha256, groups: [...groups] })),
      ...(options.oidcIssuer ? { oidc: [{ issuer: options.oidcIssuer, audience: 'sluice', groups: ['approvers'] }] } : {}),
    },
  });
  const logs: string[] = [];
  const log = createLogger((line) => logs.push(line));
  const store = await openAuditStore({ dataDir: config.data_dir, durability: 'strict' });
  const broker = createApprovalBroker({ timeoutMs: 60_000, quorum: options.quorum ?? 1, selfApproval: false });
  const events = new EngineEvents();
  broker.on('requested', (approval) => events.emit('approval.requested', approval));
  broker.on('decided', (approval) => events.emit('approval.decided', approval));
  const services: ApiServices = {
    approvals: broker,
    audit: store,
    explain: async (input) => ({ effect: 'deny', rule: 'default', input }),
    previewMasking: async (input) => previewMasking({ rules: input.rules, groups: input.groups ?? [], columns: input.sample?.columns ?? [], rows: input.sample?.rows ?? [] }, Buffer.alloc(32, 1)),
    policyView: () => policyView(configSchema.parse({ data_dir: '/tmp/unused' })),
  };
  const tls = options.tls ? await loadOrCreateSelfSigned(config.data_dir) : undefined;
  const listener = await startApiListener({
    host: '127.0.0.1',
    port: 0,
    tls: tls && { cert: tls.cert, key: tls.key },
    authenticator: new Authenticator(config.identity),
    roles: config.roles,
    services,
    events,
    log,
    ...(options.maxBufferedBytes !== undefined && { maxBufferedBytes: options.maxBufferedBytes }),
  });
  const recordings: SessionRecording[] = [];
  return {
    dir,
    listener,
    url: listener.url,
    broker,
    events,
    store,
    config,
    tls,
    tokens: Object.fromEntries(Object.entries(created).map(([name, token]) => [name, token.token])) as Record<Person, string>,
    logs,
    hold(overrides = {}) {
      const recording = store.beginSession({
        resource: 'prod-db',
        protocol: 'postgres',
        identity: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'] },
        clientAddress: '127.0.0.1',
        application: 'psql',
      });
      recordings.push(recording);
      return broker.request(
        {
          sessionId: recording.id,
          resource: 'prod-db',
          protocol: 'postgres',
          requester: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'], claims: { repository: 'acme/api' } },
          statement: 'DELETE FROM orders\n  WHERE created_at < now() - interval \'1 year\'',
          statementHash: 'a'.repeat(64),
          fingerprint: 'f'.repeat(16),
          rule: 'writes-need-approval',
          reasons: ['kind delete on public.orders'],
          sessionGrantMs: 600_000,
          history: ['SELECT count(*) FROM orders'],
          ...overrides,
        },
        recording,
      );
    },
    async close() {
      await listener.close();
      broker.close();
      await Promise.all(recordings.map((recording) => recording.end('closed', { statements: 0, errors: 0, rows: 0 })));
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** The body parsed as JSON (undefined when it is not). */
  readonly json: unknown;
}

/** One HTTP(S) request; `ca` trusts that certificate. */
export function httpCall(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | Buffer; ca?: string } = {},
): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(target, { method: init.method ?? 'GET', headers: init.headers, ...(init.ca !== undefined && { ca: init.ca }) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** POST /api/v1/<method> with a bearer token. */
export function callMethod(fixture: ApiFixture, method: string, input: unknown, token: string | undefined): Promise<HttpAnswer> {
  return httpCall(`${fixture.url}/api/v1/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(input),
    ...(fixture.tls && { ca: fixture.tls.cert }),
  });
}

/** A ticket for the events socket, bought with this token. */
export async function buyTicket(fixture: ApiFixture, token: string): Promise<string> {
  const answer = await callMethod(fixture, 'events/ticket', {}, token);
  const ticket = (answer.json as { value?: { ticket?: string } }).value?.ticket;
  if (answer.status !== 200 || !ticket) throw new Error(`no ticket: ${answer.status} ${answer.body}`);
  return ticket;
}

export interface EventSocket {
  readonly socket: WebSocket;
  /** Every message received so far, parsed. */
  readonly messages: { event: string; payload: Record<string, unknown> }[];
  /** Resolves with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
}

/** Opens the events socket with a ticket; rejects with the HTTP status when the upgrade is refused. */
export function openEventSocket(fixture: ApiFixture, ticket: string | undefined): Promise<EventSocket> {
  const base = fixture.url.replace(/^http/, 'ws');
  const socket = new WebSocket(`${base}/api/v1/events${ticket === undefined ? '' : `?ticket=${encodeURIComponent(ticket)}`}`, {
    ...(fixture.tls && { ca: fixture.tls.cert }),
  });
  const messages: EventSocket['messages'] = [];
  socket.on('message', (data: Buffer) => messages.push(JSON.parse(data.toString('utf8')) as EventSocket['messages'][number]));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve({ socket, messages, closed }));
    socket.once('unexpected-response', (_request, response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${response.statusCode}`), { status: response.statusCode, body: Buffer.concat(chunks).toString('utf8') })));
    });
    socket.once('error', reject);
  });
}
