import type { ParseArgsConfig } from 'node:util';
import type { CliIo } from './io.js';

export type CommandOptions = NonNullable<ParseArgsConfig['options']>;

export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/** One `sluice` verb. Words like ["token", "create"] make a sub-verb. */
export interface Command {
  readonly words: readonly string[];
  readonly summary: string;
  /** Arguments after the verb, e.g. "[FILE] [--skip-secrets]". */
  readonly usage: string;
  /** Lines shown by `sluice VERB --help` under the usage line. */
  readonly details: readonly string[];
  readonly options: CommandOptions;
  /** Most positionals accepted (default 0). */
  readonly maxPositionals?: number;
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}

/** Reads a string option; parseArgs already enforced its type. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === 'string' ? value : undefined;
}
