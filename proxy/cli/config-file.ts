import { resolve } from 'node:path';
import { ConfigError, formatIssue, loadConfig, type LoadedConfig, type LoadOptions } from '../config/load-config.js';
import type { CliIo } from './io.js';
import type { ParsedArgs } from './command.js';
import { stringOption } from './command.js';

/** The config file a command reads: --config, else $SLUICE_CONFIG, else ./sluice.yaml. */
export function configPath(args: ParsedArgs, io: CliIo): string {
  return resolve(io.cwd, stringOption(args, 'config') ?? io.env.SLUICE_CONFIG ?? 'sluice.yaml');
}

/** Loads a config, printing every problem to stderr when it has any (then returns undefined). */
export async function loadConfigOrReport(file: string, io: CliIo, options: Omit<LoadOptions, 'env'> = {}): Promise<LoadedConfig | undefined> {
  try {
    return await loadConfig(file, { ...options, env: io.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    for (const issue of error.issues) io.stderr(`${formatIssue(file, issue)}\n`);
    io.stderr(`the config has problems: run 'sluice check-config ${file}'\n`);
    return undefined;
  }
}
