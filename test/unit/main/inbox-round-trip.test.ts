import { readFile, rm, writeFile } from 'node:fs/promises';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Approval, ApiEventMessage, WhoAmI } from '../../../proxy/api/api-contract.js';
import { loadConfig } from '../../../proxy/config/load-config.js';
import { startEngine, type Engine } from '../../../proxy/engine/engine.js';
import { createLogger } from '../../../proxy/engine/logger.js';
import { EngineLink } from '../../../main/engine-host/engine-link.js';
import { serveEngineHost } from '../../../main/engine-host/engine-host.js';
import type { HostReply, HostRequest } from '../../../main/engine-host/host-protocol.js';
import { CertificateMismatchError } from '../../../main/gateways/pinned-connect.js';
import { RemoteGateway } from '../../../main/gateways/remote-gateway.js';
import { LOCAL_SOURCE_ID, MergedInbox } from '../../../main/inbox/merged-inbox.js';
import type { InboxApproval } from '../../../main/ipc/bridge-types.js';
import { eventually } from '../../helpers/eventually.js';
import { writeGatewayConfig, type GatewayConfigFile } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

// The desktop's inbox end to end over real gateways and a real PostgreSQL: the local engine in
// the engine host (driven over a worker_threads MessageChannel, as the utilityProcess's port
// would), a remote `sluice serve` engine with a self-signed api certificate reached over HTTPS
// with a pinned fingerprint, and approvals held by real DELETEs from node-postgres.

const POLICY = [
  '{ name: ci-reads, match: { groups: [ci], resources: [testdb], kinds: [select] }, effect: allow }',
  '{ name: ci-deletes, match: { groups: [ci], resources: [testdb], kinds: [delete] }, effect: approve }',
];

let db: TestDatabase;
let localConfig: GatewayConfigFile;
let remoteConfig: GatewayConfigFile;
let remote: Engine;
let remoteLogs: string[];
let link: EngineLink;
let hostPort: MessagePort;
let linkPort: MessagePort;
let fingerprint: string;

beforeAll(async () => {
  db = await createTestDatabase('desktop_inbox');
  const admin = await db.connect();
  await admin.query('CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders SELECT generate_series(1, 10)');

  localConfig = await writeGatewayConfig(db, { policy: POLICY, tls: 'off' });
  const channel = new MessageChannel();
  hostPort = channel.port1;
  linkPort = channel.port2;
  serveEngineHost({ post: (message: HostReply) => hostPort.postMessage(message), onMessage: (listener) => hostPort.on('message', (m: HostRequest) => listener(m)) }, { log: createLogger(() => undefined), env: {} });
  link = new EngineLink({ post: (message: HostRequest) => linkPort.postMessage(message), onMessage: (listener) => linkPort.on('message', (m: HostReply) => listener(m)) }, localConfig.configFile);
  link.start('dana');

  // The remote gateway serves its API over TLS with a self-signed certificate, as `sluice serve` with tls: auto does.
  remoteConfig = await writeGatewayConfig(db, { policy: POLICY, tls: 'off', api: true });
  const text = await readFile(remoteConfig.configFile, 'utf8');
  await writeFile(remoteConfig.configFile, text.replace('api: { address: "127.0.0.1:0", tls: off }', 'api: { address: "127.0.0.1:0", tls: auto }'));
  remoteLogs = [];
  const { config } = await loadConfig(remoteConfig.configFile, { env: {} });
  remote = await startEngine(config, { log: createLogger((line) => remoteLogs.push(line)), configFile: remoteConfig.configFile, env: {} });
  fingerprint = remote.api!.tls.fingerprint256!;

  await eventually(async () => expect(link.info.state).toBe('running'), 20_000);
});

afterAll(async () => {
  await link?.stop();
  hostPort?.close();
  linkPort?.close();
  await remote?.close();
  for (const file of [localConfig, remoteConfig]) if (file) await rm(file.dir, { recursive: true, force: true });
  await db?.drop();
});

/** A DELETE through a gateway's PostgreSQL listener as the CI caller; resolves when the gateway lets it through (or refuses it). */
function heldDelete(port: number, token: string, id: number): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'ci', password: token, database: 'testdb' });
  return client
    .connect()
    .then(() => client.query(`DELETE FROM orders WHERE id = ${id}`))
    .then(
      (result) => `deleted ${result.rowCount}`,
      (error: Error) => `refused: ${error.message}`,
    )
    .finally(() => client.end().catch(() => undefined));
}

function remoteGateway(options: { pin?: string; token?: string } = {}): RemoteGateway {
  return new RemoteGateway({ id: 'prod', label: 'prod-eu', url: remote.api!.url, token: options.token ?? remoteConfig.staff.alice, ...(options.pin !== undefined && { fingerprint: options.pin }) });
}

describe('the local engine host', () => {
  it('answers the desktop user as the operator, holding every role', async () => {
    const whoami = await link.call('identity.whoami', {});
    expect(whoami).toEqual({ ok: true, value: expect.objectContaining({ subject: 'desktop:dana', issuer: 'sluice:desktop', roles: ['approvers', 'auditors', 'admins'] }) });
    expect(link.info).toMatchObject({ state: 'running', postgres: expect.stringMatching(/^127\.0\.0\.1:\d+$/) });
  });

  it('validates input with the engine API schemas', async () => {
    expect(await link.call('approvals.list', { status: 'nope' })).toMatchObject({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('status') } });
  });

  it('pushes a held statement as an event, and the operator approves it through the inbox', async () => {
    const events: ApiEventMessage[] = [];
    const stop = link.onEvent((message) => events.push(message));
    const inbox = new MergedInbox({ local: { id: LOCAL_SOURCE_ID, label: 'This computer', call: (method, input) => link.call(method, input) }, remotes: () => [] });
    const port = Number(link.info.postgres!.split(':')[1]);
    const outcome = heldDelete(port, localConfig.token, 1);
    const requested = await eventually(async () => {
      const found = events.find((message) => message.event === 'approval.requested');
      expect(found).toBeDefined();
      return found!.payload as Approval;
    }, 10_000);
    expect(requested).toMatchObject({ resource: 'testdb', statement: 'DELETE FROM orders WHERE id = 1', requester: { subject: 'ci-job' } });
    const tagged = inbox.noteEvent(LOCAL_SOURCE_ID, events[0]!);
    expect((tagged?.payload as InboxApproval).origin).toBe('This computer');
    expect(inbox.pendingCount()).toBe(1);

    const decided = await inbox.call('approvals.decide', { id: requested.id, decision: 'approve' });
    expect(decided).toMatchObject({ ok: true, value: { status: 'approved', origin: 'This computer', votes: [expect.objectContaining({ approver: { subject: 'desktop:dana', issuer: 'sluice:desktop' } })] } });
    expect(await outcome).toBe('deleted 1');
    expect(inbox.pendingCount()).toBe(0);
    stop();
  });
});

describe('a remote gateway', () => {
  it('is reached over TLS with its pinned certificate, as the approver whose token it holds', async () => {
    const gateway = remoteGateway({ pin: fingerprint });
    const whoami = await gateway.call('identity.whoami', {});
    expect(whoami).toEqual({ ok: true, value: expect.objectContaining({ subject: 'alice', roles: expect.arrayContaining(['approvers']) }) });
    gateway.close();
  });

  it('is refused before the token is sent when the certificate is not the pinned one', async () => {
    const before = remoteLogs.length;
    const wrongPin = fingerprint.replace(/^../, fingerprint.startsWith('00') ? '11' : '00');
    const gateway = remoteGateway({ pin: wrongPin, token: 'canary-token-never-sent' });
    const answer = await gateway.call('identity.whoami', {});
    expect(answer).toEqual({ ok: false, error: { code: 'unavailable', message: expect.stringContaining('is not the pinned one') } });
    expect(new CertificateMismatchError('h', 'a', 'b').message).toContain('remove the gateway and add it again');
    // The gateway never saw a request: nothing about authentication in its log.
    expect(remoteLogs.slice(before).join('')).not.toMatch(/api (call|authentication)/);
    gateway.close();
  });

  it('without a pin, refuses the self-signed certificate and says how to pin it', async () => {
    const gateway = remoteGateway();
    expect(await gateway.call('identity.whoami', {})).toEqual({ ok: false, error: { code: 'unavailable', message: expect.stringContaining('add it with its SHA-256 fingerprint') } });
    gateway.close();
  });

  it("joins the inbox: its request arrives by event, and the decision goes to the gateway that holds it", async () => {
    const gateway = remoteGateway({ pin: fingerprint });
    const inbox = new MergedInbox({ local: { id: LOCAL_SOURCE_ID, label: 'This computer', call: (method, input) => link.call(method, input) }, remotes: () => [gateway] });
    const seen: ApiEventMessage[] = [];
    const stop = gateway.subscribe((message) => {
      const tagged = inbox.noteEvent('prod', message);
      if (tagged) seen.push(tagged);
    });
    await eventually(async () => expect(gateway.state).toBe('live'), 10_000);

    const outcome = heldDelete(remote.postgres!.port, remoteConfig.token, 2);
    const requested = await eventually(async () => {
      const found = seen.find((message) => message.event === 'approval.requested');
      expect(found).toBeDefined();
      return found!.payload as InboxApproval;
    }, 10_000);
    expect(requested).toMatchObject({ origin: 'prod-eu', statement: 'DELETE FROM orders WHERE id = 2' });

    // The merged list shows it with where it comes from; the local engine has nothing pending.
    const pending = await inbox.call('approvals.list', { status: 'pending' });
    expect(pending).toEqual({ ok: true, value: [expect.objectContaining({ id: requested.id, origin: 'prod-eu' })] });
    expect(inbox.pendingCount()).toBe(1);

    const denied = await inbox.call('approvals.decide', { id: requested.id, decision: 'deny', reason: 'not during the freeze' });
    expect(denied).toMatchObject({ ok: true, value: { status: 'denied', origin: 'prod-eu', votes: [expect.objectContaining({ approver: expect.objectContaining({ subject: 'alice' }) })] } });
    expect(await outcome).toMatch(/^refused: .*not during the freeze/);
    await eventually(async () => expect(seen.some((message) => message.event === 'approval.decided' && message.payload.id === requested.id)).toBe(true), 10_000);
    expect(inbox.pendingCount()).toBe(0);
    // The remote's token never left the main process into what the window gets.
    expect(JSON.stringify(seen)).not.toContain(remoteConfig.staff.alice);
    stop();
    gateway.close();
  });

  it('answers an id no gateway holds as not found', async () => {
    const gateway = remoteGateway({ pin: fingerprint });
    const inbox = new MergedInbox({ local: { id: LOCAL_SOURCE_ID, label: 'This computer', call: (method, input) => link.call(method, input) }, remotes: () => [gateway] });
    expect(await inbox.call('approvals.get', { id: 'no-such-approval' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    gateway.close();
  });

  it('keeps the inbox working when the local engine is down, answering whoami for the operator', async () => {
    const operator: WhoAmI = { subject: 'desktop:dana', issuer: 'sluice:desktop', method: 'token', groups: [], roles: ['approvers', 'auditors', 'admins'] };
    const inbox = new MergedInbox({
      local: { id: LOCAL_SOURCE_ID, label: 'This computer', call: async () => ({ ok: false, error: { code: 'unavailable', message: 'the local gateway is not running: port taken' } }) },
      remotes: () => [remoteGateway({ pin: fingerprint })],
      operator: () => operator,
    });
    expect(await inbox.call('identity.whoami', {})).toEqual({ ok: true, value: operator });
    expect(await inbox.call('approvals.list', { status: 'pending' })).toEqual({ ok: true, value: [] });
    expect(await inbox.call('sessions.list', {})).toMatchObject({ ok: false, error: { code: 'unavailable', message: expect.stringContaining('port taken') } });
  });
});
