import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Command } from './command.js';
import { approvalsCommand } from './commands/approvals.js';
import { approveCommand } from './commands/approve.js';
import { checkConfigCommand } from './commands/check-config.js';
import { denyCommand } from './commands/deny.js';
import { keyShowCommand } from './commands/key-show.js';
import { exportCommand } from './commands/export.js';
import { execCommand } from './commands/exec.js';
import { replayCommand } from './commands/replay.js';
import { mcpCommand } from './commands/mcp.js';
import { runCommand } from './commands/run.js';
import { verifyCommand } from './commands/verify.js';
import { policyExplainCommand } from './commands/policy-explain.js';
import { serveCommand } from './commands/serve.js';
import { sessionsCommand, sessionsShowCommand } from './commands/sessions.js';
import { tokenCreateCommand } from './commands/token-create.js';
import { whoamiCommand } from './commands/whoami.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, processIo, UsageError, type CliIo } from './io.js';
import { packageVersion } from './version.js';

/** The verbs that exist today; `--help` lists exactly these. A sub-verb comes before its parent: the first match runs. */
export const COMMANDS: readonly Command[] = [approvalsCommand, approveCommand, checkConfigCommand, denyCommand, execCommand, exportCommand, keyShowCommand, mcpCommand, policyExplainCommand, replayCommand, runCommand, serveCommand, sessionsShowCommand, sessionsCommand, tokenCreateCommand, verifyCommand, whoamiCommand];

/** Verbs the design promises but that have not landed: say so instead of "unknown command". */
const PLANNED: Readonly<Record<string, string>> = {
};

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const topic = first === 'help' ? findCommand(argv.slice(1)) : undefined;
    io.stdout(topic ? commandHelp(topic) : overallHelp());
    return EXIT_OK;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    io.stdout(`sluice ${packageVersion()}\n`);
    return EXIT_OK;
  }

  const command = findCommand(argv);
  try {
    if (!command) throw unknownCommand(argv);
    const rest = argv.slice(command.words.length);
    // After `--` everything is the command's (sluice exec RES -- --help asks the command for help).
    const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
    if (own.includes('--help') || own.includes('-h')) {
      io.stdout(commandHelp(command));
      return EXIT_OK;
    }
    const args = parseCommandLine(command, rest);
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`sluice: ${error.message}; ${error.hint}\n`);
      return EXIT_USAGE;
    }
    // Unexpected failures still print one line; the stack only on request.
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`sluice: ${message}\n`);
    if (io.env.SLUICE_DEBUG) io.stderr(`${error instanceof Error ? error.stack : ''}\n`);
    return EXIT_FAILED;
  }
}

function findCommand(argv: readonly string[]): Command | undefined {
  return COMMANDS.find((command) => command.words.every((word, index) => argv[index] === word));
}

function parseCommandLine(command: Command, rest: readonly string[]) {
  const verb = `sluice ${command.words.join(' ')}`;
  let parsed;
  try {
    parsed = parseArgs({ args: [...rest], options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n', 1)[0]!.replace(/\. To specify .*$/, '') : String(error);
    throw new UsageError(`${verb}: ${reason}`, `run '${verb} --help'`);
  }
  const max = command.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    throw new UsageError(`${verb}: unexpected argument "${parsed.positionals[max]}"`, `run '${verb} --help'`);
  }
  return parsed;
}

function unknownCommand(argv: readonly string[]): UsageError {
  const [first = ''] = argv;
  const planned = PLANNED[first];
  if (planned) return new UsageError(`'${first}' is not available yet: it arrives with ${planned}`, "run 'sluice --help' to see the commands available now");
  const group = COMMANDS.filter((command) => command.words.length > 1 && command.words[0] === first);
  if (group.length > 0) {
    const verbs = group.map((command) => command.words.join(' ')).join(', ');
    return new UsageError(`'${argv.slice(0, 2).join(' ')}' is not a command`, `try one of: ${verbs}`);
  }
  return new UsageError(`unknown command '${first}'`, "run 'sluice --help' to see the commands");
}

function overallHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => command.words.join(' ').length));
  return [
    'sluice: a data-path gateway with policy, masking, approvals and a tamper-evident audit',
    '',
    'Usage: sluice COMMAND [options]',
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.words.join(' ').padEnd(width)}  ${command.summary}`),
    '',
    'Options:',
    '  --help, -h     show help (also: sluice COMMAND --help)',
    '  --version, -v  print the version',
    '',
    'Exit codes: 0 done, 1 failed (bad config, refused credential), 2 wrong command line.',
    '',
  ].join('\n');
}

function commandHelp(command: Command): string {
  return [`Usage: sluice ${command.words.join(' ')} ${command.usage}`.trimEnd(), '', command.summary, '', ...command.details, ''].join('\n');
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs the CLI as this process: its arguments, stdio and exit code. */
export async function runAsProcess(): Promise<void> {
  // `sluice sessions show ID | head`: a reader that stops early is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2));
}

if (isEntryPoint()) await runAsProcess();
