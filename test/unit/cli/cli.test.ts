import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';

const root = resolve(import.meta.dirname, '../../..');
const execFileAsync = promisify(execFile);

async function spawnSluice(entry: string[], args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [...entry, ...args], { cwd: root, env: { PATH: process.env.PATH } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the sluice CLI', () => {
  it('lists the commands that exist in --help', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/Usage: sluice COMMAND/);
    for (const verb of ['check-config', 'token create', 'whoami']) expect(stdout).toContain(`  ${verb}`);
    const perCommand = await runCli(['token', 'create', '--help']);
    expect(perCommand.stdout).toMatch(/^Usage: sluice token create --name NAME \[--groups a,b\]/);
  });

  it('prints the package version', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^sluice \d+\.\d+\.\d+\n$/);
  });

  it('answers a wrong command line with one line on stderr and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /^sluice: unknown command 'frobnicate'; run 'sluice --help' to see the commands\n$/],
      [['check-config', '--bogus'], /^sluice: sluice check-config: Unknown option '--bogus'; run 'sluice check-config --help'\n$/],
      [['check-config', 'a.yaml', 'b.yaml'], /^sluice: sluice check-config: unexpected argument "b.yaml"; run/],
      [['token'], /^sluice: 'token' is not a command; try one of: token create\n$/],
      [['token', 'create'], /^sluice: --name is required; run 'sluice token create --name ci-deploy --groups ci'\n$/],
      [['mcp'], /^sluice: sluice mcp: which gateway\?; pass --gateway URL \(or set \$SLUICE_URL\), or --config FILE to embed one\n$/],
      [['replay'], /^sluice: sluice replay: which session\?/],
      [['serve', '--bogus'], /^sluice: sluice serve: Unknown option '--bogus'; run 'sluice serve --help'\n$/],
      [['whoami', '--config', 'x.yaml'], /^sluice: no credential given; set SLUICE_TOKEN or pass --token-file FILE\n$/],
    ];
    for (const [argv, message] of cases) {
      const { code, stdout, stderr } = await runCli(argv);
      expect({ argv, code, stdout }).toEqual({ argv, code: 2, stdout: '' });
      expect(stderr).toMatch(message);
    }
  });

  it('mints a token whose config line authenticates it', async () => {
    const created = await runCli(['token', 'create', '--name', 'ci-deploy', '--groups', 'ci, deployers']);
    expect(created.code).toBe(0);
    const token = /^token: (slu_[A-Za-z0-9_-]{43})$/m.exec(created.stdout)?.[1];
    const line = /^ {2}- \{ name: ci-deploy, sha256: "[0-9a-f]{64}", groups: \[ci, deployers\] \}$/m.exec(created.stdout)?.[0];
    expect(token).toBeDefined();
    expect(line).toBeDefined();
    // The printed line is pasted into a config as-is, and the token then works.
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
    await writeFile(join(dir, 'sluice.yaml'), `identity:\n  tokens:\n${line}\n`);
    await writeFile(join(dir, 'token'), `${token}\n`);
    const who = await runCli(['whoami', '--token-file', 'token'], { cwd: dir });
    expect(who).toMatchObject({ code: 0, stderr: '' });
    expect(who.stdout).toMatch(/^subject: ci-deploy\nissuer: {2}sluice:token\nmethod: {2}token\ngroups: {2}ci, deployers\n/);
    // Only the hash is in the config line.
    expect(line).not.toContain(token!);
    const refused = await runCli(['whoami'], { cwd: dir, env: { SLUICE_TOKEN: `${token}x` } });
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^sluice: credential refused: token not recognised/);
  });

  it('check-config prints ok and a summary, or every problem with exit code 1', async () => {
    const env = { PROD_DB_PASSWORD: 'x', BILLING_TOKEN: 'y' };
    const ok = await runCli(['check-config', 'docs/sluice.example.yaml'], { env, cwd: root });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^ok: .*docs\/sluice\.example\.yaml\n/);
    expect(ok.stdout).toContain('resources: 3 — prod-db (postgres), billing-api (http), migrate (exec)');
    expect(ok.stdout).toContain('identity: 1 static token, 1 OIDC issuer — https://token.actions.githubusercontent.com');

    const missing = await runCli(['check-config', 'docs/sluice.example.yaml'], { env: {}, cwd: root });
    expect(missing.code).toBe(1);
    expect(missing.stderr.split('\n')).toEqual([
      expect.stringMatching(/sluice\.example\.yaml:\d+: resources\[0\]\.password: environment variable PROD_DB_PASSWORD is not set/),
      expect.stringMatching(/sluice\.example\.yaml:\d+: resources\[1\]\.inject\.value: environment variable BILLING_TOKEN is not set/),
      expect.stringMatching(/^2 problems in .*: fix them and run 'sluice check-config' again$/),
      '',
    ]);

    const skipped = await runCli(['check-config', '--skip-secrets', 'docs/sluice.example.yaml'], { env: {}, cwd: root });
    expect(skipped.code).toBe(0);
  });

  it('check-config finds the file from --config, $SLUICE_CONFIG, then ./sluice.yaml', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
    await writeFile(join(dir, 'sluice.yaml'), 'data_dir: ./here\n');
    await writeFile(join(dir, 'other.yaml'), 'data_dir: ./there\n');
    expect((await runCli(['check-config'], { cwd: dir })).stdout).toContain(`data_dir: ${join(dir, 'here')}`);
    expect((await runCli(['check-config'], { cwd: dir, env: { SLUICE_CONFIG: 'other.yaml' } })).stdout).toContain(`data_dir: ${join(dir, 'there')}`);
    expect((await runCli(['check-config', '--config', 'other.yaml'], { cwd: dir })).stdout).toContain('there');
    const none = await runCli(['check-config', 'nope.yaml'], { cwd: dir });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/nope\.yaml: cannot read the config file \(ENOENT\)/);
  });

  it('runs as a real process from source, with exit codes and stderr', async () => {
    const fromSource = ['--import', 'tsx', 'proxy/cli/main.ts'];
    expect(await spawnSluice(fromSource, ['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^sluice \d/) });
    const bad = await spawnSluice(fromSource, ['frobnicate']);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(bad.stderr).toMatch(/^sluice: unknown command 'frobnicate'/);
  });

  it.skipIf(!existsSync(join(root, 'dist/proxy/cli/main.js')))('runs through the package bin (built by npm install)', async () => {
    const result = await spawnSluice(['bin/sluice.js'], ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('check-config');
  });
});
