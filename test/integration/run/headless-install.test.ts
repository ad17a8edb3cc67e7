import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStaticToken, hashToken } from '../../../proxy/identity/static-tokens.js';

// The headless install on a runner, as the docs tell a CI owner to do it: pack the package,
// install the tarball globally into a prefix of its own (no Electron: it is a devDependency; the
// two native modules allowed to build), then `sluice --version` and `sluice serve` from that
// prefix's PATH, and a `sluice run` through it.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
const NATIVE = 'sqlite3,node-pty';

let work: string;
let prefix: string;
let sluice: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'sluice-install-'));
  prefix = join(work, 'prefix');
  // The build `npm install` already made (prepare): packing must not rebuild dist/ under other tests' feet.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--silent'], { cwd: ROOT, env: { ...process.env, ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, maxBuffer: 64 * 1024 * 1024 });
  const tarball = join(work, stdout.trim().split('\n').pop()!);
  await run('npm', ['install', '--global', '--prefix', prefix, `--allow-scripts=${NATIVE}`, '--no-audit', '--no-fund', tarball], { cwd: work, maxBuffer: 64 * 1024 * 1024 });
  sluice = join(prefix, 'bin', 'sluice');
}, 900_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('the headless install from the packed tarball', () => {
  it('puts sluice on PATH without Electron, and it runs', async () => {
    const { stdout } = await run(sluice, ['--version']);
    expect(stdout.trim()).toMatch(/^sluice \d+\.\d+\.\d+/);
    const installed = await readdir(join(prefix, 'lib', 'node_modules', 'sluice', 'node_modules'));
    expect(installed).not.toContain('electron');
    expect(installed).toEqual(expect.arrayContaining(['sqlite3', 'node-pty']));
  });

  it('serves a config and runs a command through it', async () => {
    const { token } = createStaticToken();
    const config = join(work, 'sluice.yaml');
    await writeFile(
      config,
      [
        'data_dir: ./data',
        'listen:',
        '  api: { address: "127.0.0.1:0", tls: off }',
        'identity:',
        `  tokens: [{ name: ci-job, sha256: "${hashToken(token)}", groups: [ci] }]`,
        '',
      ].join('\n'),
    );
    const serve = spawn(sluice, ['serve', '--config', config], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const api = await new Promise<string>((resolve, reject) => {
        let out = '';
        serve.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /api listening on (\S+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        serve.once('exit', (code) => reject(new Error(`sluice serve exited with ${code}: ${out}`)));
      });
      const job = await run(sluice, ['run', '--gateway', api, '--no-pty', '--', 'sh', '-c', 'echo "run $SLUICE_RUN"'], { cwd: work, env: { PATH: `${join(prefix, 'bin')}:${process.env.PATH}`, SLUICE_TOKEN: token } });
      expect(job.stdout).toMatch(/^run run_\S+$/m);
      expect(job.stderr).toMatch(/recorded as terminal session/);
    } finally {
      serve.kill('SIGTERM');
    }
  });
});
