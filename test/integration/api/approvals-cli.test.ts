import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../proxy/cli/main.js';
import { createStaticToken } from '../../../proxy/identity/static-tokens.js';
import { runCli, type CliResult } from '../../helpers/run-cli.js';
import { startApiFixture, type ApiFixture } from './api-fixture.js';

let api: ApiFixture;
let caFile: string;
const outputs: CliResult[] = [];

beforeAll(async () => {
  api = await startApiFixture({ tls: true });
  caFile = join(api.config.data_dir, 'tls', 'cert.pem');
});

afterAll(async () => {
  await api?.close();
  // The canary: no token appears in anything the CLI printed or the server logged.
  const everything = [...outputs.map((output) => output.stdout + output.stderr), ...(api?.logs ?? [])].join('\n');
  for (const token of Object.values(api?.tokens ?? {})) expect(everything).not.toContain(token);
});

/** Runs `sluice ...` in-process as `who`, against the fixture (--api and --ca unless `bare`). */
async function sluice(argv: string[], who: keyof ApiFixture['tokens'] | undefined, options: { bare?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<CliResult> {
  const target = options.bare ? [] : ['--api', api.url, '--ca', caFile];
  const env = { ...(who && { SLUICE_TOKEN: api.tokens[who] }), ...options.env };
  const result = await runCli([...argv, ...target], { env, ...(options.cwd && { cwd: options.cwd }) });
  outputs.push(result);
  return result;
}

describe('sluice approvals / approve / deny against a running API', () => {
  it('lists pending approvals as a table an approver can act on', async () => {
    const held = api.hold();
    const { code, stdout, stderr } = await sluice(['approvals'], 'alice');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const [header, ...rows] = stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +AGE +RESOURCE +REQUESTER +STATEMENT +RULE +VOTES +EXPIRES$/);
    const row = rows.find((line) => line.startsWith(held.approval.id));
    expect(row).toMatch(/^\S+ +\d+s +prod-db +ci-job \(acme\/api\) +DELETE FROM orders WHERE created_at < now\(\) - interval '1 y… +writes-need-approval +0\/1 +in (59s|1m00s)$/);

    const json = await sluice(['approvals', '--json', '--status', 'all'], 'alice');
    expect(JSON.parse(json.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id: held.approval.id, status: 'pending' })]));
  });

  it('approves (for the session) and denies, printing where each approval now stands', async () => {
    const first = api.hold();
    const approved = await sluice(['approve', first.approval.id, '--reason', 'planned', '--session'], 'alice');
    expect(approved.code).toBe(0);
    expect(approved.stdout).toMatch(new RegExp(`^approved: approval ${first.approval.id} \\(DELETE FROM orders WHERE created_at < n… on prod-db\\); granted for the session until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ\\n$`));
    await expect(first.outcome).resolves.toMatchObject({ status: 'approved' });

    const second = api.hold();
    const denied = await sluice(['deny', second.approval.id, '--reason', 'use the archive job'], 'bob');
    expect(denied).toMatchObject({ code: 0, stdout: expect.stringMatching(/^denied: approval \S+ .*: use the archive job\n$/) });
    await expect(second.outcome).resolves.toMatchObject({ status: 'denied', reason: 'use the archive job' });

    const listed = await sluice(['approvals', '--status', 'denied'], 'alice');
    expect(listed.stdout).toMatch(/ STATUS +EXPIRES\n/);
    expect(listed.stdout).toContain(second.approval.id);
  });

  it('reports a vote that leaves the quorum unmet', async () => {
    const quorum = await startApiFixture({ quorum: 2 });
    try {
      const held = quorum.hold();
      const result = await runCli(['approve', held.approval.id, '--api', quorum.url], { env: { SLUICE_TOKEN: quorum.tokens.alice } });
      expect(result).toMatchObject({ code: 0, stdout: expect.stringMatching(/^vote recorded: approval \S+ .* has 1 of 2 approvals; it waits for 1 more \(expires in /) });
    } finally {
      await quorum.close();
    }
  });

  it('says clearly why a call was refused', async () => {
    const held = api.hold();
    await sluice(['approve', held.approval.id], 'alice');
    const cases: [string[], keyof ApiFixture['tokens'] | undefined, NodeJS.ProcessEnv, number, RegExp][] = [
      [['approve', held.approval.id], 'bob', {}, 1, /^sluice: approval \S+ was already approved by alice\n$/],
      [['approvals'], 'carol', {}, 1, /^sluice: you are not in the approvers role, which approvals.list needs \(your groups: auditors\)/],
      [['approvals'], undefined, { SLUICE_TOKEN: createStaticToken().token }, 1, /^sluice: the gateway refused the credential: authentication failed: token not recognised/],
      [['approve', '01UNKNOWN'], 'alice', {}, 1, /^sluice: there is no approval 01UNKNOWN/],
      [['deny', held.approval.id], 'alice', {}, 2, /^sluice: sluice deny: --reason is required; say why/],
      [['deny', held.approval.id, '--reason', '  '], 'alice', {}, 2, /^sluice: sluice deny: --reason is required/],
      [['approve'], 'alice', {}, 2, /^sluice: sluice approve: which approval\?; pass its ID/],
      [['approvals'], undefined, {}, 2, /^sluice: no credential given; set SLUICE_TOKEN or pass --token-file FILE\n$/],
      [['approvals', '--status', 'stuck'], 'alice', {}, 2, /^sluice: --status must be one of pending, approved, denied, expired, cancelled, all, not "stuck"/],
    ];
    for (const [argv, who, env, code, message] of cases) {
      const result = await sluice(argv, who, { env });
      expect({ argv, code: result.code, stdout: result.stdout }).toEqual({ argv, code, stdout: '' });
      expect(result.stderr).toMatch(message);
    }
  });

  it('says when the gateway cannot be reached, or its certificate not verified', async () => {
    const closedPort = await freePort();
    const down = await sluice(['approvals', '--api', `http://127.0.0.1:${closedPort}`], 'alice', { bare: true });
    expect(down).toMatchObject({ code: 1, stderr: `sluice: cannot reach the gateway API at http://127.0.0.1:${closedPort} (ECONNREFUSED): is \`sluice serve\` running with listen.api there?\n` });

    const unverified = await sluice(['approvals', '--api', api.url], 'alice', { bare: true });
    expect(unverified).toMatchObject({ code: 1, stderr: expect.stringMatching(/^sluice: cannot verify the TLS certificate of https:\/\/127\.0\.0\.1:\d+ \(DEPTH_ZERO_SELF_SIGNED_CERT\): pass --ca FILE/) });

    const nowhere = await mkdtemp(join(tmpdir(), 'sluice-nocfg-'));
    try {
      const lost = await sluice(['approvals'], 'alice', { bare: true, cwd: nowhere });
      expect(lost).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sluice: no gateway to talk to; pass --api URL/) });
    } finally {
      await rm(nowhere, { recursive: true, force: true });
    }
  });

  it('reads the credential from --token-file and the URL from SLUICE_API_URL', async () => {
    const file = join(api.dir, 'alice.token');
    await writeFile(file, `${api.tokens.alice}\n`, { mode: 0o600 });
    const result = await sluice(['approvals', '--token-file', file, '--ca', caFile], undefined, { bare: true, env: { SLUICE_API_URL: `${api.url}/api/v1/` } });
    expect(result).toMatchObject({ code: 0, stderr: '' });
  });
});

describe('sluice serve with listen.api, and the CLI finding it from the config', () => {
  let dir: string;
  let configFile: string;
  const approver = createStaticToken();
  const requester = createStaticToken();

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-api-serve-'));
    configFile = join(dir, 'sluice.yaml');
    const port = await freePort();
    await writeFile(
      configFile,
      [
        'data_dir: ./data',
        'listen:',
        `  api: "127.0.0.1:${port}"`,
        'identity:',
        '  tokens:',
        `    - { name: alice, sha256: "${approver.sha256}", groups: [approvers] }`,
        `    - { name: ci-job, sha256: "${requester.sha256}", groups: [ci] }`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the API URL and certificate fingerprint, and approvals/approve pin that certificate', async () => {
    const stop = new AbortController();
    let banner = '';
    let serveErr = '';
    const serving = main(['serve', '--config', configFile], {
      stdout: (text) => (banner += text),
      stderr: (text) => (serveErr += text),
      env: {},
      cwd: dir,
      signal: stop.signal,
    });
    try {
      await waitFor(() => banner.includes('api listening'), () => `no banner:\n${banner}\n${serveErr}`);
      expect(banner).toMatch(/^api listening on https:\/\/127\.0\.0\.1:\d+ \(TLS with a self-signed certificate \(sha256 ([0-9A-F]{2}:){31}[0-9A-F]{2}\)\)$/m);
      expect(serveErr).not.toContain('warning');

      const none = await runCli(['approvals', '--config', configFile], { env: { SLUICE_TOKEN: approver.token } });
      outputs.push(none);
      expect(none).toEqual({ code: 0, stdout: 'no pending approvals\n', stderr: '' });

      // A wrong --ca beats the pin, and then verification fails: the pin is what made it work.
      const wrongCa = await runCli(['approvals', '--config', configFile, '--ca', caFile], { env: { SLUICE_TOKEN: approver.token } });
      outputs.push(wrongCa);
      expect(wrongCa).toMatchObject({ code: 1, stderr: expect.stringContaining('cannot verify the TLS certificate') });

      const unknown = await runCli(['approve', '01NOPE', '--config', configFile], { env: { SLUICE_TOKEN: approver.token } });
      outputs.push(unknown);
      expect(unknown).toMatchObject({ code: 1, stderr: expect.stringMatching(/^sluice: there is no approval 01NOPE/) });

      const denyOwn = await runCli(['deny', '01NOPE', '--reason', 'x', '--config', configFile], { env: { SLUICE_TOKEN: requester.token } });
      outputs.push(denyOwn);
      expect(denyOwn).toMatchObject({ code: 1, stderr: expect.stringContaining('you are not in the approvers role') });
    } finally {
      stop.abort();
      expect(await serving).toBe(0);
    }
    for (const token of [approver.token, requester.token]) expect(banner + serveErr).not.toContain(token);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitFor(done: () => boolean, describe: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
