import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryPassword } from '../../helpers/gateway.js';
import { findProgram } from '../../helpers/external-program.js';
import { runCli } from '../../helpers/run-cli.js';
import { startUpstream, writeHttpGatewayConfig, type HttpGatewayFiles, type TestUpstream } from '../http/http-fixture.js';

// `sluice run --config FILE`: the gateway embedded in the run itself, for a runner with no gateway
// to reach. The command calls an HTTP API through SLUICE_<NAME>_URL with curl, unchanged: the
// credential rides in the URL, the gateway swaps it for the upstream's and masks the answer.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(ROOT, 'proxy', 'cli', 'main.ts');
const curl = findProgram('curl');
const CANARY = canaryPassword();

let upstream: TestUpstream;
let files: HttpGatewayFiles;

beforeAll(async () => {
  upstream = await startUpstream((req, res) => {
    const authorized = req.headers.authorization === `Bearer ${CANARY}`;
    res.writeHead(authorized ? 200 : 401, { 'content-type': 'application/json' });
    res.end(JSON.stringify(authorized ? { customers: [{ id: 1, email: 'ada@example.com', card: 4111111111111111 }] } : { error: 'unauthorized' }));
  });
  files = await writeHttpGatewayConfig({
    resources: [`{ name: billing-api, type: http, upstream: "${upstream.url}", inject: { header: Authorization, value: "Bearer \${env:API_TOKEN}" } }`],
    policy: ['{ name: ci-read, match: { groups: [ci], methods: [GET] }, effect: allow }'],
    masking: ['{ name: pii, detect: [email, card], strategy: redact }'],
  });
});

afterAll(async () => {
  await upstream?.close();
});

describe.skipIf(!curl)('sluice run with an embedded gateway', () => {
  it('gives curl a URL that works, masked, and never the upstream credential', async () => {
    const script = join(files.dir, 'job.sh');
    await writeFile(script, ['set -e', 'curl -sS --fail "$SLUICE_BILLING_API_URL/customers"', 'echo', `env > ${join(files.dir, 'env.txt')}`, ''].join('\n'));
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', CLI, 'run', '--config', files.configFile, '--', 'bash', script], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, SLUICE_TOKEN: files.token, API_TOKEN: CANARY },
    });
    expect(JSON.parse(stdout.trim())).toEqual({ customers: [{ id: 1, email: '[redacted:email]', card: '[redacted:card]' }] });
    expect(upstream.seen.at(-1)?.headers.authorization).toBe(`Bearer ${CANARY}`);
    const env = await readFile(join(files.dir, 'env.txt'), 'utf8');
    expect(env).toMatch(/^SLUICE_BILLING_API_URL=http:\/\/sluice:sluice_run_[^@]+@127\.0\.0\.1:\d+\/r\/billing-api$/m);
    for (const [where, text] of [['stdout', stdout], ['stderr', stderr], ['env', env]] as const) expect(text.includes(CANARY), where).toBe(false);
    const session = /recorded as terminal session (\S+) with 1 linked session/.exec(stderr);
    expect(session, stderr).not.toBeNull();
    // The recording is in the embedded engine's store, replayable after it stopped.
    const replay = await runCli(['replay', session![1]!, '--config', files.configFile], { env: { API_TOKEN: CANARY } });
    expect(replay.stdout).toContain('[redacted:email]');
    expect(replay.stdout.includes(CANARY)).toBe(false);
  });
});
