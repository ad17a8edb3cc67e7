import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerCredential } from '../../../proxy/run/ci-identity.js';

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
let server: Server;
let url: string;
let dir: string;
const seen: { authorization?: string; audience?: string | null }[] = [];
let answer: { status: number; body: string } = { status: 200, body: JSON.stringify({ value: JWT }) };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-ci-identity-'));
  server = createServer((req, res) => {
    seen.push({ authorization: req.headers.authorization, audience: new URL(req.url!, 'http://x').searchParams.get('audience') });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/idtoken?api-version=2.0`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const github = { ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'req-token', GITHUB_ACTIONS: 'true' };

describe("who sluice run acts as", () => {
  it("asks GitHub's token service for the job's id token with the gateway's audience", async () => {
    const found = await callerCredential({ env: { ...github, ACTIONS_ID_TOKEN_REQUEST_URL: url }, cwd: dir, audience: 'https://sluice.acme' });
    expect(found).toEqual({ credential: JWT, source: 'github-actions-oidc' });
    expect(seen.at(-1)).toEqual({ authorization: 'bearer req-token', audience: 'https://sluice.acme' });
  });

  it('prefers a credential handed over explicitly: --token-file, then SLUICE_TOKEN', async () => {
    await writeFile(join(dir, 'token'), '  from-file\n');
    const env = { ...github, ACTIONS_ID_TOKEN_REQUEST_URL: url, SLUICE_TOKEN: 'from-env' };
    expect(await callerCredential({ env, cwd: dir, tokenFile: 'token', audience: 'a' })).toEqual({ credential: 'from-file', source: '--token-file' });
    expect(await callerCredential({ env, cwd: dir, audience: 'a' })).toEqual({ credential: 'from-env', source: 'SLUICE_TOKEN' });
    await expect(callerCredential({ env, cwd: dir, tokenFile: 'missing', audience: 'a' })).rejects.toThrow('--token-file missing cannot be read (ENOENT)');
  });

  it('says what is wrong when GitHub refuses, and never repeats what it answered', async () => {
    answer = { status: 403, body: '{"message":"secret-ish detail"}' };
    const refused = callerCredential({ env: { ...github, ACTIONS_ID_TOKEN_REQUEST_URL: url }, cwd: dir, audience: 'a' });
    await expect(refused).rejects.toThrow(/answered 403 .*permissions: id-token: write/);
    await expect(refused).rejects.not.toThrow(/secret-ish/);
    answer = { status: 200, body: '{"value": 42}' };
    await expect(callerCredential({ env: { ...github, ACTIONS_ID_TOKEN_REQUEST_URL: url }, cwd: dir, audience: 'a' })).rejects.toThrow('answered without an id token');
    answer = { status: 200, body: JSON.stringify({ value: JWT }) };
  });

  it('refuses to guess: a GitHub job without id-token permission, and anywhere without a credential', async () => {
    await expect(callerCredential({ env: { GITHUB_ACTIONS: 'true' }, cwd: dir, audience: 'a' })).rejects.toThrow(/permissions: id-token: write/);
    await expect(callerCredential({ env: {}, cwd: dir, audience: 'a' })).rejects.toThrow(/no identity to run as: set SLUICE_TOKEN/);
  });
});
