import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../proxy/config/load-config.js';
import { startEngine, type Engine } from '../../../proxy/engine/engine.js';
import { createLogger } from '../../../proxy/engine/logger.js';
import { createStaticToken, hashToken } from '../../../proxy/identity/static-tokens.js';
import { canaryPassword } from '../../helpers/gateway.js';

export const CLI = fileURLToPath(new URL('../../../proxy/cli/main.ts', import.meta.url));
/** tsx's loader by absolute URL: processes started elsewhere than the repository (another user's directory) still find it. */
export const TSX = import.meta.resolve('tsx');

/** Secrets the gateway holds: each one a canary searched for in everything a caller can reach. */
export interface Canaries {
  /** The `box` resource's API_TOKEN (from a ${file:} reference). */
  readonly apiToken: string;
  /** Inside the generated kubeconfig file. */
  readonly kubeToken: string;
  /** In the gateway's own environment (${env:SLUICE_TEST_DB_PASSWORD}), held for another resource. */
  readonly envPassword: string;
}

export interface ExecGatewayFiles {
  readonly dir: string;
  readonly configFile: string;
  readonly canaries: Canaries;
  /** Tokens: ci-job (group ci), alice and bob (approvers), outsider (no group). */
  readonly tokens: { readonly ci: string; readonly alice: string; readonly bob: string; readonly outsider: string };
  /** The environment the gateway must be started with. */
  readonly gatewayEnv: Readonly<Record<string, string>>;
}

export const DEFAULT_POLICY = [
  '{ name: ci-box, match: { groups: [ci], resources: [box] }, effect: allow }',
  '{ name: no-rm, match: { resources: [box], args: ["rm **", "** rm **"] }, effect: deny }',
  '{ name: hold-touch, match: { groups: [ci], resources: [box], args: ["touch **"] }, effect: approve }',
];

/**
 * A gateway config with one exec resource, `box`: the command `env` (so `sluice exec box` prints
 * the command's environment, and `sluice exec box -- PROGRAM ARGS` runs PROGRAM in it), with a
 * token in API_TOKEN and a kubeconfig file in KUBECONFIG.
 */
export async function writeExecConfig(options: { readonly policy?: readonly string[]; readonly masking?: readonly string[] } = {}): Promise<ExecGatewayFiles> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-exec-gw-'));
  await chmod(dir, 0o700);
  const canaries: Canaries = { apiToken: canaryPassword(), kubeToken: canaryPassword(), envPassword: canaryPassword() };
  const tokens = { ci: createStaticToken().token, alice: createStaticToken().token, bob: createStaticToken().token, outsider: createStaticToken().token };
  await writeFile(join(dir, 'api-token'), canaries.apiToken, { mode: 0o600 });
  await writeFile(join(dir, 'kubeconfig'), ['apiVersion: v1', 'kind: Config', 'users:', '- name: ci', '  user:', `    token: ${canaries.kubeToken}`, ''].join('\n'), { mode: 0o600 });
  const configFile = join(dir, 'sluice.yaml');
  await writeFile(
    configFile,
    [
      'data_dir: ./data',
      'listen:',
      '  api: { address: "127.0.0.1:0", tls: off }',
      'identity:',
      '  tokens:',
      `    - { name: ci-job, sha256: "${hashToken(tokens.ci)}", groups: [ci] }`,
      `    - { name: alice, sha256: "${hashToken(tokens.alice)}", groups: [approvers] }`,
      `    - { name: bob, sha256: "${hashToken(tokens.bob)}", groups: [approvers] }`,
      `    - { name: outsider, sha256: "${hashToken(tokens.outsider)}", groups: [nobody] }`,
      'resources:',
      '  - name: box',
      '    type: exec',
      '    command: [env]',
      '    env: { API_TOKEN: "${file:api-token}" }',
      '    files: { kubeconfig: { content: "${file:kubeconfig}", env: KUBECONFIG } }',
      '  - name: other-db',
      '    type: postgres',
      '    upstream: postgres://app@127.0.0.1:1/app',
      '    password: ${env:SLUICE_TEST_DB_PASSWORD}',
      'policy:',
      ...(options.policy ?? DEFAULT_POLICY).map((rule) => `  - ${rule}`),
      ...(options.masking ? ['masking:', ...options.masking.map((rule) => `  - ${rule}`)] : []),
      'approvals: { timeout: 1m }',
      'audit: { durability: batched }',
      '',
    ].join('\n'),
  );
  return { dir, configFile, canaries, tokens, gatewayEnv: { SLUICE_TEST_DB_PASSWORD: canaries.envPassword } };
}

export interface ExecTestGateway extends ExecGatewayFiles {
  readonly engine: Engine;
  readonly apiUrl: string;
  readonly logs: string[];
  close(): Promise<void>;
}

/** The gateway in this process. Its environment holds envPassword, as a real gateway's would. */
export async function startExecGateway(options: Parameters<typeof writeExecConfig>[0] = {}): Promise<ExecTestGateway> {
  const files = await writeExecConfig(options);
  Object.assign(process.env, files.gatewayEnv);
  const logs: string[] = [];
  const { config } = await loadConfig(files.configFile, { env: process.env });
  const engine = await startEngine(config, { log: createLogger((line) => logs.push(line)), configFile: files.configFile, env: process.env });
  return {
    ...files,
    engine,
    apiUrl: engine.api!.url,
    logs,
    async close() {
      await engine.close();
      await rm(files.dir, { recursive: true, force: true });
    },
  };
}

export interface ServeAsUser {
  readonly child: ChildProcess;
  readonly apiUrl: string;
  output(): string;
  close(): Promise<void>;
}

/** `sluice serve` as its own process under another OS user (root only): the data directory is handed to that user. */
export async function serveAsUser(files: ExecGatewayFiles, uid: number, gid: number): Promise<ServeAsUser> {
  for (const name of ['', 'api-token', 'kubeconfig', 'sluice.yaml']) await chown(join(files.dir, name), uid, gid);
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'serve', '--config', files.configFile], {
    uid,
    gid,
    cwd: files.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: files.dir, ...files.gatewayEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const apiUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sluice serve did not start within 30s\n${output}`)), 30_000);
    child.stdout!.on('data', () => {
      const match = /api listening on (\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`sluice serve exited\n${output}`));
    });
  });
  return {
    child,
    apiUrl,
    output: () => output,
    async close() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

export interface CliProcessResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `sluice exec` (or any verb) as its own process, as a CI step would run it. */
export function runCliProcess(args: readonly string[], env: Readonly<Record<string, string>>, options: { readonly input?: string; readonly started?: (child: ChildProcess) => void } = {}): Promise<CliProcessResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  options.started?.(child);
  return new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}
