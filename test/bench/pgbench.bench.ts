// pgbench against PostgreSQL directly, through pgbouncer (the reference for "a proxy in the
// path") and through any extra targets (the gateway), in one run on one throwaway cluster, so
// the ratios compare like with like. Every leg is plaintext: the numbers compare proxies, not TLS.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { chmod, chown, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort, startEmbeddedPostgres } from '../../tools/embedded-postgres.js';
import { latencyPercentiles, parsePgbenchLog, parsePgbenchSummary, tail } from './pgbench-parse.js';

const execFileAsync = promisify(execFile);

export interface PgbenchTarget {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

export interface PgbenchResult {
  readonly name: string;
  readonly tps: number;
  readonly transactions: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failed: number;
}

export interface PgbenchOptions {
  readonly clients: number;
  readonly seconds: number;
  readonly mode: 'simple' | 'extended' | 'prepared';
  readonly selectOnly: boolean;
  /** When set, the pgbench tables are first initialised at this scale unless they already are. */
  readonly scale?: number;
}

/** Runs pgbench against `target`; latency percentiles come from its per-transaction log. */
export async function runPgbench(target: PgbenchTarget, options: PgbenchOptions): Promise<PgbenchResult> {
  if (options.scale !== undefined) await ensurePgbenchTables(target, options.scale);
  const logDir = await mkdtemp(join(tmpdir(), 'sluice-pgbench-log-'));
  try {
    const args = [
      ...['-c', String(options.clients), '-j', String(Math.min(options.clients, 2)), '-T', String(options.seconds), '-M', options.mode],
      // -S: the built-in select-only script. Its tables do not change, so skip the pre-run vacuum.
      ...(options.selectOnly ? ['-S', '-n'] : []),
      ...['--log', `--log-prefix=${join(logDir, 'x')}`],
    ];
    const { stdout } = await runPgbenchProgram(target, args, (options.seconds + 120) * 1000);
    const summary = parsePgbenchSummary(stdout);
    const latencies: number[] = [];
    // One file per thread: x.<pid> for the first, x.<pid>.<n> for the others.
    for (const file of await readdir(logDir)) parsePgbenchLog(await readFile(join(logDir, file), 'utf8'), latencies);
    return { name: target.name, ...summary, ...latencyPercentiles(latencies) };
  } finally {
    await rm(logDir, { recursive: true, force: true });
  }
}

/** Creates the pgbench tables at `scale` (pgbench -i) unless pgbench_branches already says that scale. */
export async function ensurePgbenchTables(target: PgbenchTarget, scale: number): Promise<void> {
  const client = new pg.Client(connectionOf(target));
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pgbench_branches');
    if (rows[0]?.n === scale) return;
  } catch (error) {
    if ((error as { code?: string }).code !== '42P01') throw error; // undefined_table: initialise
  } finally {
    await client.end();
  }
  await runPgbenchProgram(target, ['-i', '-q', '-s', String(scale)], 600_000);
}

async function runPgbenchProgram(target: PgbenchTarget, args: readonly string[], timeout: number): Promise<{ stdout: string; stderr: string }> {
  const binary = requireProgram('pgbench', 'apt-get install postgresql-client');
  const connection = ['-h', target.host, '-p', String(target.port), '-U', target.user, target.database];
  // The password travels in the environment, never on the command line (ps would show it).
  const env = { ...process.env, PGPASSWORD: target.password, PGSSLMODE: 'disable', PGAPPNAME: 'sluice-bench', PGCONNECT_TIMEOUT: '10' };
  try {
    return await execFileAsync(binary, [...args, ...connection], { env, timeout, maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const failure = error as { code?: number | string; signal?: string; stderr?: string; stdout?: string };
    const output = failure.stderr?.trim() ? failure.stderr : (failure.stdout ?? '');
    throw new Error(
      `pgbench ${args.join(' ')} against ${target.name} (${target.host}:${target.port}/${target.database}) failed ` +
        `(${failure.signal ? `signal ${failure.signal}` : `exit code ${String(failure.code)}`}):\n${tail(output, 15)}`,
      { cause: error },
    );
  }
}

/**
 * Starts pgbouncer (session pooling, SCRAM to the client and, with the plain password from its
 * userlist, SCRAM to the server) in front of `upstream` on 127.0.0.1 and a free port. Installs
 * Debian's package when it is missing. As root it runs as the `postgres` user: pgbouncer refuses root.
 */
export async function startPgbouncer(upstream: PgbenchTarget, options: { poolSize: number }): Promise<{ target: PgbenchTarget; stop(): Promise<void> }> {
  const binary = await ensurePgbouncer();
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'sluice-pgbouncer-'));
  const config = join(dir, 'pgbouncer.ini');
  const userlist = join(dir, 'userlist.txt');
  const pidFile = join(dir, 'pgbouncer.pid');
  const quote = (value: string) => `"${value.replaceAll('"', '""')}"`;
  await writeFile(userlist, `${quote(upstream.user)} ${quote(upstream.password)}\n`, { mode: 0o600 });
  await writeFile(
    config,
    [
      '[databases]',
      `${upstream.database} = host=${upstream.host} port=${upstream.port} dbname=${upstream.database}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${userlist}`,
      'pool_mode = session',
      `default_pool_size = ${options.poolSize}`,
      `max_client_conn = ${Math.max(100, options.poolSize * 4)}`,
      // libpq clients (JDBC, some drivers) send these; pgbouncer refuses unknown ones by default.
      'ignore_startup_parameters = extra_float_digits,search_path',
      'server_tls_sslmode = disable',
      'server_login_retry = 1',
      'logfile =',
      `pidfile = ${pidFile}`, // written without -d too; stop() signals that pid
      'log_connections = 0',
      'log_disconnections = 0',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );

  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = await postgresUser();
    for (const path of [dir, config, userlist]) await chown(path, uid, gid);
    await chmod(dir, 0o700);
  }
  // Not daemonized (no -d): the child is pgbouncer itself, or runuser, which forwards signals to it.
  const child = asRoot
    ? spawn(requireProgram('runuser', 'apt-get install util-linux'), ['-u', 'postgres', '--', binary, config], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(binary, [config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-8_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  child.once('error', (error) => {
    output += `\n${error.message}`;
  });

  const target: PgbenchTarget = { ...upstream, name: 'pgbouncer', host: '127.0.0.1', port };
  const waitExit = (ms: number) => Promise.race([exit.then(() => true), sleep(ms).then(() => false)]);
  const stop = async () => {
    if (!exited) {
      // Signal pgbouncer itself (SIGTERM: immediate shutdown in 1.18); runuser then exits with it.
      // Signalling runuser instead costs 2 s: it forwards SIGTERM, sleeps, then sends SIGKILL.
      const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
      if (asRoot && pid > 0) signal(pid, 'SIGTERM');
      else child.kill('SIGTERM');
      if (!(await waitExit(5_000))) {
        if (pid > 0) signal(pid, 'SIGKILL');
        child.kill('SIGKILL');
        await exit;
      }
    }
    await rm(dir, { recursive: true, force: true });
  };

  // Ready means a real login through it works (which also proves the auth setup).
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited) {
      await stop();
      throw new Error(`pgbouncer exited before accepting connections:\n${tail(output, 15)}`);
    }
    const client = new pg.Client({ ...connectionOf(target), connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return { target, stop };
    } catch (error) {
      await client.end().catch(() => {});
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`pgbouncer on 127.0.0.1:${port} did not accept a login within 15 s (${(error as Error).message}):\n${tail(output, 15)}`, { cause: error });
      }
      await sleep(100);
    }
  }
}

async function ensurePgbouncer(): Promise<string> {
  const found = whichProgram('pgbouncer');
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error('pgbouncer is not installed and the bench is not root: install it (sudo apt-get install pgbouncer) and run again');
  process.stdout.write('pgbouncer not found: installing Debian\'s package (apt-get install -y pgbouncer)\n');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => execFileAsync('apt-get', ['install', '-y', '--no-install-recommends', 'pgbouncer'], { env, maxBuffer: 16 * 1024 * 1024 });
  try {
    await install();
  } catch {
    // Usually stale package lists in a fresh container.
    process.stdout.write('apt-get install failed; running apt-get update and trying again\n');
    await execFileAsync('apt-get', ['update'], { env, maxBuffer: 16 * 1024 * 1024 });
    await install();
  }
  const installed = whichProgram('pgbouncer');
  if (!installed) throw new Error('apt-get installed pgbouncer but no pgbouncer program is on PATH or in /usr/sbin');
  process.stdout.write(`installed ${installed} (on hosts with systemd, Debian also starts its own pgbouncer service on 127.0.0.1:6432)\n`);
  return installed;
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([execFileAsync('id', ['-u', 'postgres']), execFileAsync('id', ['-g', 'postgres'])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  } catch (error) {
    throw new Error('pgbouncer refuses to run as root and there is no `postgres` user to run it as (installing the pgbouncer package creates one)', { cause: error });
  }
}

/** Finds a program on PATH (or where Debian puts it) without printing anything. */
function whichProgram(name: string): string | undefined {
  const postgresBins = (() => {
    try {
      return readdirSync('/usr/lib/postgresql').map((version) => join('/usr/lib/postgresql', version, 'bin'));
    } catch {
      return [];
    }
  })();
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/sbin', ...postgresBins];
  return dirs
    .map((dir) => join(dir, name))
    .find((path) => {
      try {
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
}

function requireProgram(name: string, install: string): string {
  const found = whichProgram(name);
  if (!found) throw new Error(`${name} is not installed: ${install}`);
  return found;
}

function connectionOf(target: PgbenchTarget): pg.ClientConfig {
  return { host: target.host, port: target.port, user: target.user, password: target.password, database: target.database, ssl: false };
}

/** Signals a process we started (by pid), ignoring one that is already gone. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** TPS, ratio to the direct run and to pgbouncer, p50/p99 ms, failed transactions. */
export function formatPgbenchTable(results: readonly PgbenchResult[], baseline: { direct: string; pgbouncer?: string }): string {
  const tpsOf = (name: string | undefined) => results.find((result) => result.name === name)?.tps;
  const direct = tpsOf(baseline.direct);
  const bouncer = tpsOf(baseline.pgbouncer);
  const ratio = (tps: number, base: number | undefined) => (base && base > 0 ? `${(tps / base).toFixed(2)}×` : '–');
  const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(3) : '–');
  const rows = [
    ['target', 'TPS', 'vs direct', ...(baseline.pgbouncer ? ['vs pgbouncer'] : []), 'p50 ms', 'p99 ms', 'transactions', 'failed'],
    ...results.map((result) => [
      result.name,
      Math.round(result.tps).toLocaleString('en-US'),
      ratio(result.tps, direct),
      ...(baseline.pgbouncer ? [ratio(result.tps, bouncer)] : []),
      ms(result.p50Ms),
      ms(result.p99Ms),
      result.transactions.toLocaleString('en-US'),
      String(result.failed),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ')).join('\n');
}

/** A target built on the bench's upstream; `report` runs after the pgbench table, for extra measurements. */
export interface ExtraTarget {
  readonly target: PgbenchTarget;
  stop(): Promise<void>;
  report?(): Promise<string>;
}

/**
 * Starts a throwaway PostgreSQL, initialises pgbench at scale 10 and runs `pgbench -S -c 8 -T 15
 * -M simple` direct, through pgbouncer and through each extra target (built on the same upstream),
 * one after another. Returns the formatted table. SLUICE_BENCH_PGBENCH_SECONDS shortens the runs.
 */
export async function pgbenchBenchmarks(
  extraTargets?: (upstream: PgbenchTarget) => Promise<ExtraTarget[]>,
): Promise<string> {
  const options = { clients: 8, seconds: Number(process.env.SLUICE_BENCH_PGBENCH_SECONDS ?? 15), mode: 'simple', selectOnly: true, scale: 10 } as const;
  requireProgram('pgbench', 'apt-get install postgresql-client');
  const progress = (text: string) => process.stderr.write(`[pgbench] ${text}\n`);
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-pg-'));
  const stops: (() => Promise<void>)[] = [];
  try {
    progress('starting a throwaway PostgreSQL');
    const postgres = await startEmbeddedPostgres({ dir, password: `bench-${Math.random().toString(36).slice(2)}`, persistent: false, throwaway: true });
    stops.push(() => postgres.stop());
    const admin = new pg.Client({ ...postgres.server, database: 'postgres', ssl: false });
    await admin.connect();
    const serverVersion = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? '?';
    await admin.query('CREATE DATABASE bench');
    await admin.end();
    const direct: PgbenchTarget = { ...postgres.server, name: 'direct', database: 'bench' };

    progress(`pgbench -i -s ${options.scale}`);
    await ensurePgbenchTables(direct, options.scale);
    progress('warm-up: 3 s direct (not reported)');
    await runPgbench(direct, { ...options, seconds: 3, scale: undefined });

    const bouncer = await startPgbouncer(direct, { poolSize: options.clients });
    stops.push(() => bouncer.stop());
    const extras = extraTargets ? await extraTargets(direct) : [];
    for (const extra of extras) stops.push(() => extra.stop());

    const results: PgbenchResult[] = [];
    for (const target of [direct, bouncer.target, ...extras.map((extra) => extra.target)]) {
      progress(`${options.seconds} s against ${target.name}`);
      results.push(await runPgbench(target, { ...options, scale: undefined }));
    }
    const versions = await programVersions();
    const reports: string[] = [];
    for (const extra of extras) if (extra.report) reports.push(await extra.report());
    return [
      `pgbench -S -c ${options.clients} -j ${Math.min(options.clients, 2)} -T ${options.seconds} -M ${options.mode}, scale ${options.scale}; ` +
        `PostgreSQL ${serverVersion} (embedded, fsync off), ${versions.pgbench}, ${versions.pgbouncer} (session pool ${options.clients}); latency from per-transaction logs`,
      formatPgbenchTable(results, { direct: direct.name, pgbouncer: bouncer.target.name }),
      ...reports,
      '',
    ].join('\n');
  } finally {
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => progress(`cleanup: ${(error as Error).message}`));
    await rm(dir, { recursive: true, force: true });
  }
}

async function programVersions(): Promise<{ pgbench: string; pgbouncer: string }> {
  const version = async (name: string) => {
    const binary = whichProgram(name);
    if (!binary) return `${name} ?`;
    const { stdout } = await execFileAsync(binary, ['--version']).catch(() => ({ stdout: `${name} ?` }));
    return stdout.split('\n')[0]?.trim() ?? name;
  };
  return { pgbench: await version('pgbench'), pgbouncer: await version('pgbouncer') };
}
