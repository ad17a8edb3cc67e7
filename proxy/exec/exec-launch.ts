import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXEC_FILE_PLACEHOLDER, type ResourceConfig } from '../config/schema.js';
import { scrubbedForms } from './held-secrets.js';

// An exec resource's command made ready to run: its argv (the template, `{file:NAME}` resolved,
// then the caller's arguments), its environment and its generated files. Secrets go in the
// environment or in files (0600, in a private 0700 directory removed afterwards), never on the
// command line, where `ps` shows them to every user of the host.
//
// The environment is built from nothing: the gateway's own variables (which may hold the very
// secrets config references as ${env:X}) never reach the command. It gets PATH (the gateway's),
// HOME (the private directory, so caches a tool writes go with it), LANG/LC_ALL when set, TERM,
// and the resource's `env` and file variables.

export type ExecResourceConfig = Extract<ResourceConfig, { type: 'exec' }>;

export interface PreparedCommand {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** The secret values the command holds (revealed): output is scrubbed of them. */
  readonly secrets: readonly string[];
  /** Removes the private directory and its files; idempotent, never rejects. */
  cleanup(): Promise<void>;
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The command as policy and the record see it: the template (placeholders as written) and the caller's arguments. */
export function templateArgv(resource: ExecResourceConfig, args: readonly string[]): string[] {
  return [...resource.command, ...args];
}

export async function prepareExecCommand(resource: ExecResourceConfig, args: readonly string[], options: { readonly term?: string } = {}): Promise<PreparedCommand> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-exec-'));
  let cleaned: Promise<void> | undefined;
  const cleanup = () => (cleaned ??= rm(dir, { recursive: true, force: true }).catch(() => undefined));
  try {
    const env: Record<string, string> = { PATH: process.env.PATH ?? DEFAULT_PATH, HOME: dir };
    for (const name of ['LANG', 'LC_ALL'] as const) {
      const value = process.env[name];
      if (value !== undefined) env[name] = value;
    }
    env.TERM = options.term ?? 'xterm-256color';
    const secrets: string[] = [];
    for (const [name, value] of Object.entries(resource.env)) {
      env[name] = value.reveal();
      secrets.push(value.reveal());
    }
    const paths = new Map<string, string>();
    for (const [name, file] of Object.entries(resource.files)) {
      const path = join(dir, name);
      const content = file.content.reveal();
      // wx: the directory is new and private, so the file cannot exist; never follow a link.
      await writeFile(path, content, { mode: 0o600, flag: 'wx' });
      paths.set(name, path);
      if (file.env !== undefined) env[file.env] = path;
      secrets.push(...scrubbedForms(content));
    }
    const argv = [...resource.command.map((arg) => arg.replace(EXEC_FILE_PLACEHOLDER, (_, name: string) => paths.get(name) ?? '')), ...args];
    return { argv, env, ...(resource.cwd !== undefined && { cwd: resource.cwd }), secrets, cleanup };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
