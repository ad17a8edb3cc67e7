// A command's argv as one line a person can read and paste into a POSIX shell: arguments with
// only safe characters as they are, others in single quotes. Used for recordings, approvals and
// policy traces (an exec session's "statement"); never run through a shell by Sluice.

const SAFE = /^[A-Za-z0-9_\-+=.,/:@%^]+$/;

export function commandLine(argv: readonly string[]): string {
  return argv.map(quoteArgument).join(' ');
}

export function quoteArgument(arg: string): string {
  if (SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}
