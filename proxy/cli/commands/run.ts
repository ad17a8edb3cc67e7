import { formatIssue } from '../../config/load-config.js';
import { createLogger } from '../../engine/logger.js';
import { runChild, type RunningChild } from '../../exec/child-runner.js';
import { callerCredential, IdentityUnavailable } from '../../run/ci-identity.js';
import { childEnvironment, ResourceChoiceError } from '../../run/child-env.js';
import { OutputRelay } from '../../run/output-relay.js';
import { embeddedGateway, remoteGateway, type RunGateway } from '../../run/run-gateway.js';
import { MAX_RUN_TTL_MS } from '../../run/run-limits.js';
import { ApiCallError, resolveApiTarget } from '../api-client.js';
import { stringOption, type Command, type ParsedArgs } from '../command.js';
import { loadConfigOrReport } from '../config-file.js';
import { EXIT_FAILED, processIo, UsageError, type CliIo } from '../io.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { RunGrant } from '../../api/api-contract.js';

// `sluice run -- CMD ARGS...`: the CI step runs unchanged, reaching its database and APIs through
// the gateway with a credential that lives as long as the command, never an upstream secret.
// The command's exit code is sluice's (128 + the signal number when a signal ended it).

const MAX_ARGS = 256;
/** Exit code when sluice itself could not run the command (no identity, gateway refused). */
const EXIT_RUN_FAILED = 125;
const DEFAULT_AUDIENCE = 'sluice';
const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
const SIGNAL_NUMBERS: Readonly<Record<string, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGUSR1: 10, SIGSEGV: 11, SIGUSR2: 12, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

export const runCommand: Command = {
  words: ['run'],
  summary: 'run a CI command with short-lived gateway credentials instead of upstream secrets, recorded',
  usage: '[--gateway URL | --config FILE] [--token-file FILE] [--resource NAME] [--pty|--no-pty] [--mask-output] -- CMD [ARGS...]',
  details: [
    'Identity: --token-file, else $SLUICE_TOKEN (a token or an OIDC JWT, e.g. GitLab id_tokens),',
    "else on GitHub Actions the job's OIDC id token (needs `permissions: id-token: write`; its",
    'audience: --audience, else $SLUICE_OIDC_AUDIENCE, else the config\'s GitHub issuer\'s, else "sluice").',
    'Gateway: --gateway URL (else $SLUICE_URL, else $SLUICE_API_URL): a running gateway\'s engine API;',
    'or --config FILE: an engine embedded in this process for the command\'s lifetime.',
    'The command gets PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD PGSSLMODE DATABASE_URL for the',
    'PostgreSQL resource (--resource, default the only one open to you) and SLUICE_<NAME>_URL per',
    'HTTP resource; the credential in them stops working when the command ends. $SLUICE_TOKEN is',
    'not passed on. The command runs in a pty when attached to a terminal (or --pty), else with',
    'pipes; its output is recorded as a terminal session. --mask-output shows the CI log only the',
    "output as the gateway masked it. Exit code: the command's; 125 when sluice could not run it.",
  ],
  options: {
    gateway: { type: 'string' },
    config: { type: 'string', short: 'c' },
    'token-file': { type: 'string' },
    ca: { type: 'string' },
    resource: { type: 'string' },
    audience: { type: 'string' },
    pty: { type: 'boolean' },
    'no-pty': { type: 'boolean' },
    'mask-output': { type: 'boolean' },
    'max-duration': { type: 'string' },
  },
  maxPositionals: MAX_ARGS,
  async run(args, io) {
    const [file, ...rest] = args.positionals;
    if (!file) throw new UsageError('sluice run: which command?', 'pass it after --, e.g. sluice run -- psql -c "select 1"');
    if (args.values.pty === true && args.values['no-pty'] === true) throw new UsageError('sluice run: --pty and --no-pty contradict each other', 'pass one of them');
    const ttlMs = maxDuration(stringOption(args, 'max-duration'));
    const real = io === processIo;
    const pty = args.values.pty === true || (args.values['no-pty'] !== true && real && process.stdout.isTTY === true && process.stdin.isTTY === true);

    const gateway = await openGateway(args, io);
    if (!gateway) return EXIT_RUN_FAILED;
    try {
      return await runWith(gateway, { io, args, file, rest, pty, real, ttlMs, audience: gateway.audience });
    } finally {
      await gateway.close();
    }
  },
};

interface RunPlan {
  readonly io: CliIo;
  readonly args: ParsedArgs;
  readonly file: string;
  readonly rest: readonly string[];
  readonly pty: boolean;
  readonly real: boolean;
  readonly ttlMs: number | undefined;
  readonly audience: string | undefined;
}

async function runWith(gateway: RunGateway, plan: RunPlan): Promise<number> {
  const { io, args } = plan;
  let credential: string;
  try {
    const audience = stringOption(args, 'audience') ?? io.env.SLUICE_OIDC_AUDIENCE ?? plan.audience ?? DEFAULT_AUDIENCE;
    credential = (await callerCredential({ env: io.env, cwd: io.cwd, tokenFile: stringOption(args, 'token-file'), audience })).credential;
  } catch (error) {
    if (!(error instanceof IdentityUnavailable)) throw error;
    io.stderr(`sluice run: ${error.message}\n`);
    return EXIT_RUN_FAILED;
  }
  const size = plan.pty && plan.real ? { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 } : { cols: 80, rows: 24 };
  let grant;
  try {
    grant = await gateway.call(credential, 'runs.start', { command: [plan.file, ...plan.rest], ...size, ...(plan.ttlMs !== undefined && { ttl_ms: plan.ttlMs }), host: hostname().slice(0, 255) });
  } catch (error) {
    if (!(error instanceof ApiCallError)) throw error;
    io.stderr(`sluice run: the gateway at ${gateway.where} did not start the run: ${error.message}\n`);
    return EXIT_RUN_FAILED;
  }
  // From here on the client speaks with the session credential: the caller's JWT may expire first.
  const session = grant.credential;
  const control = grant.control;
  let env: Record<string, string>;
  const scratch = await mkdtemp(join(tmpdir(), 'sluice-run-'));
  try {
    const certificateFile = grant.postgres?.certificate === undefined ? undefined : join(scratch, 'gateway-ca.pem');
    if (certificateFile) await writeFile(certificateFile, grant.postgres!.certificate!, { mode: 0o644 });
    env = childEnvironment(io.env, grant, {
      ...(stringOption(args, 'resource') !== undefined && { resource: stringOption(args, 'resource')! }),
      gatewayHost: gateway.host,
      secrets: gateway.secrets,
      ...(certificateFile !== undefined && { certificateFile }),
    });
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    if (!(error instanceof ResourceChoiceError)) throw error;
    io.stderr(`sluice run: ${error.message}\n`);
    await gateway.call(session, 'runs.finish', { run: grant.run, control, exit_code: null, signal: null }).catch(() => undefined);
    return EXIT_RUN_FAILED;
  }
  try {
    return await runChildRecorded(gateway, plan, { grant, session, control, env, size });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

interface Started {
  readonly grant: RunGrant;
  readonly session: string;
  readonly control: string;
  readonly env: Record<string, string>;
  readonly size: { readonly cols: number; readonly rows: number };
}

async function runChildRecorded(gateway: RunGateway, plan: RunPlan, started: Started): Promise<number> {
  const { io, args } = plan;
  const { grant, session, control, env, size } = started;
  const maskOutput = args.values['mask-output'] === true;
  let child: RunningChild | undefined;
  const relay = new OutputRelay({
    transport: { output: (data, echo) => gateway.call(session, 'runs.output', { run: grant.run, control, data, echo }) },
    print: io.stdout,
    warn: io.stderr,
    maskOutput,
    pause: () => child?.pause(),
    resume: () => child?.resume(),
  });
  const restoreTerminal = plan.pty && plan.real ? rawTerminal() : () => undefined;
  const forward = (signal: NodeJS.Signals) => child?.kill(signal);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, forward);
  const onResize = () => child?.resize(process.stdout.columns || 80, process.stdout.rows || 24);
  if (plan.pty && plan.real) process.stdout.on('resize', onResize);
  let exit;
  try {
    child = runChild({ file: plan.file, args: plan.rest, env, cwd: io.cwd, pty: plan.pty, ...size, stdin: plan.real ? process.stdin : null, onOutput: (data) => relay.write(data) });
    exit = await child.done;
  } finally {
    for (const signal of FORWARDED_SIGNALS) process.off(signal, forward);
    process.stdout.off('resize', onResize);
    restoreTerminal();
    if (plan.real) process.stdin.pause();
  }
  await relay.drain();
  try {
    const finished = await gateway.call(session, 'runs.finish', { run: grant.run, control, exit_code: exit.exitCode, signal: exit.signal, echo: maskOutput });
    relay.printEcho(finished.masked);
    io.stderr(`sluice run: recorded as terminal session ${finished.terminalSession}${finished.sessions.length > 0 ? ` with ${finished.sessions.length} linked session${finished.sessions.length === 1 ? '' : 's'}` : ''}\n`);
  } catch (error) {
    io.stderr(`sluice run: the gateway did not record the end of the run (${(error as Error).message}); it will close the recording when the run expires\n`);
  }
  if (exit.signal) return 128 + (SIGNAL_NUMBERS[exit.signal] ?? 0);
  return exit.exitCode ?? EXIT_FAILED;
}

/** The gateway and, for an embedded engine, the audience its config expects from GitHub. */
async function openGateway(args: ParsedArgs, io: CliIo): Promise<(RunGateway & { readonly audience?: string }) | undefined> {
  const url = stringOption(args, 'gateway') ?? io.env.SLUICE_URL;
  const config = stringOption(args, 'config');
  if (url !== undefined && config !== undefined) throw new UsageError('sluice run: --gateway and --config contradict each other', 'pass --gateway URL for a running gateway, or --config FILE to embed one');
  if (config === undefined) {
    const target = await resolveApiTarget({ ...args, values: { ...args.values, ...(url !== undefined && { api: url }) } }, io);
    return target && remoteGateway(target);
  }
  const file = resolve(io.cwd, config);
  const loaded = await loadConfigOrReport(file, io);
  if (!loaded) return undefined;
  for (const warning of loaded.warnings) io.stderr(`warning: ${formatIssue(file, warning)}\n`);
  // The embedded engine logs only what needs attention: the CI log belongs to the command.
  const log = createLogger((line) => (/"level":"(warn|error)"|\b(WARN|ERROR)\b/.test(line) ? io.stderr(line) : undefined), 'text');
  try {
    const gateway = await embeddedGateway(loaded.config, file, log, io.env);
    const github = loaded.config.identity.oidc.find((issuer) => issuer.issuer === 'https://token.actions.githubusercontent.com') ?? (loaded.config.identity.oidc.length === 1 ? loaded.config.identity.oidc[0] : undefined);
    const audience = github ? [github.audience].flat()[0] : undefined;
    return { ...gateway, ...(audience !== undefined && { audience }) };
  } catch (error) {
    io.stderr(`sluice run: the embedded gateway did not start: ${(error as Error).message}\n`);
    return undefined;
  }
}

function maxDuration(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^(\d+)(s|m|h)$/.exec(text.trim());
  const ms = match ? Number(match[1]) * { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'] : NaN;
  if (!Number.isFinite(ms) || ms < 1_000 || ms > MAX_RUN_TTL_MS) throw new UsageError(`sluice run: --max-duration ${text} is not a duration between 1s and 24h`, 'pass e.g. --max-duration 90m');
  return ms;
}

/** Puts the caller's terminal in raw mode (keys go to the command as typed); returns the undo. */
function rawTerminal(): () => void {
  if (!process.stdin.isTTY) return () => undefined;
  process.stdin.setRawMode(true);
  return () => process.stdin.setRawMode(false);
}
