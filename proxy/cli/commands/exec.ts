import { constants as osConstants } from 'node:os';
import { API_CLIENT_DETAILS, API_CLIENT_OPTIONS, ApiCallError, resolveApiTarget } from '../api-client.js';
import { readCredential } from '../credential.js';
import { stringOption, type Command } from '../command.js';
import { EXIT_FAILED, processIo, UsageError, type CliIo } from '../io.js';
import { printable } from '../../common/printable.js';
import { connectExec, type ExecConnection } from '../../exec/exec-client.js';
import { MAX_ARGS } from '../../exec/exec-protocol.js';

// `sluice exec RESOURCE -- ARGS...`: runs an exec resource's command on the gateway, which holds
// its secrets, decides the command line against policy (approvals included), masks and records
// the output; this end shows the output, forwards the terminal and passes the exit code through.

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export const execCommand: Command = {
  words: ['exec'],
  summary: "run an exec resource's command on the gateway (its secrets stay there), with the output masked and recorded",
  usage: 'RESOURCE [--pty | --no-pty] [--api URL] [--config FILE] [--token-file FILE] [--ca FILE] -- [ARGS...]',
  details: [
    "ARGS follow the resource's command template (the operator's command and fixed arguments).",
    'The gateway decides the whole command line against policy: denied, run, or held until',
    'approvers decide (`sluice approve`). The command runs on the gateway with the secrets in its',
    'environment or generated files, never on a command line; its output is masked before it',
    'reaches you, and recorded (`sluice replay`, `sluice export --asciicast`).',
    'It runs in a terminal (pty) when your stdout is one, or with --pty; else with pipes, its',
    'stderr apart. Your exit code is the command\'s (128+N when signal N ended it); 1 when the',
    'gateway refused it.',
    ...API_CLIENT_DETAILS,
  ],
  options: { ...API_CLIENT_OPTIONS, pty: { type: 'boolean' }, 'no-pty': { type: 'boolean' } },
  maxPositionals: 1 + MAX_ARGS,
  async run(args, io) {
    const [resource, ...rest] = args.positionals;
    if (!resource) throw new UsageError('sluice exec: which resource?', 'pass its name, e.g. sluice exec kube-prod -- get pods');
    if (args.values.pty === true && args.values['no-pty'] === true) throw new UsageError('sluice exec: --pty and --no-pty contradict each other', 'pass one of them');
    const credential = await readCredential(stringOption(args, 'token-file'), io);
    const target = await resolveApiTarget(args, io);
    if (!target) return EXIT_FAILED;
    // Only the real process has a terminal to forward; in-process callers (tests) send no input.
    const real = io === processIo;
    const pty = args.values.pty === true || (args.values['no-pty'] !== true && real && process.stdout.isTTY === true);
    return runExec(io, { target, credential, resource, args: rest, pty, real });
  },
};

async function runExec(io: CliIo, options: { target: Parameters<typeof connectExec>[0]['target']; credential: string; resource: string; args: readonly string[]; pty: boolean; real: boolean }): Promise<number> {
  const { real, pty } = options;
  const size = real && process.stdout.isTTY ? { cols: process.stdout.columns, rows: process.stdout.rows } : {};
  const connection = connectExec({
    target: options.target,
    credential: options.credential,
    start: { type: 'start', resource: options.resource, args: [...options.args], pty, ...size, ...(real && process.env.TERM && /^[A-Za-z0-9._+-]{1,64}$/.test(process.env.TERM) && { term: process.env.TERM }) },
    onOutput: (data, stream) => (stream === 'stderr' ? io.stderr(data) : io.stdout(data)),
    onHeld: (_approval, message) => io.stderr(`sluice exec: ${printable(message)}\n`),
  });
  const detach = real ? attachTerminal(connection, pty) : () => undefined;
  try {
    const end = await connection.ended;
    if (end.kind === 'error') {
      io.stderr(`sluice exec: ${printable(end.message)}\n`);
      return EXIT_FAILED;
    }
    if (end.signal) return 128 + (osConstants.signals[end.signal as NodeJS.Signals] ?? 0);
    return end.exitCode ?? EXIT_FAILED;
  } catch (error) {
    if (error instanceof ApiCallError) {
      io.stderr(`sluice exec: ${error.message}\n`);
      return EXIT_FAILED;
    }
    throw error;
  } finally {
    detach();
  }
}

/** Forwards this process's stdin, terminal size and signals; returns what undoes it (raw mode restored first). */
function attachTerminal(connection: ExecConnection, pty: boolean): () => void {
  const stdin = process.stdin;
  const raw = pty && stdin.isTTY;
  if (raw) stdin.setRawMode(true);
  const onData = (chunk: Buffer) => connection.send({ type: 'input', data: chunk.toString('utf8') });
  const onEnd = () => connection.send({ type: 'eof' });
  const onResize = () => connection.send({ type: 'resize', cols: process.stdout.columns, rows: process.stdout.rows });
  const onSignal = (signal: NodeJS.Signals) => connection.send({ type: 'signal', signal: signal as (typeof FORWARDED_SIGNALS)[number] });
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  process.stdout.on('resize', onResize);
  for (const signal of FORWARDED_SIGNALS) process.on(signal, onSignal);
  return () => {
    if (raw) stdin.setRawMode(false);
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
    process.stdout.off('resize', onResize);
    for (const signal of FORWARDED_SIGNALS) process.off(signal, onSignal);
  };
}
