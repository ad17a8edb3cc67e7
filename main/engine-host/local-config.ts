import { access, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

// Which config the local engine starts from: `--config FILE`, else $SLUICE_CONFIG, else
// sluice.yaml in the app's data folder, written on first start with nothing exposed (a
// PostgreSQL listener on loopback, no resources, no tokens) for the user to fill in.

export const STARTER_CONFIG = [
  '# The Sluice desktop app\'s local gateway, written on first start. Add resources, tokens and',
  '# policy (see the README\'s config reference), then restart the app. Point psql at the listener',
  '# below with a resource name as the database and a token as the password.',
  'data_dir: ./data',
  'listen:',
  '  postgres: 127.0.0.1:6432',
  'identity:',
  '  tokens: []',
  'resources: []',
  'policy: []',
  '',
].join('\n');

/** `--config FILE` / `--config=FILE` in argv. */
export function configArgument(argv: readonly string[]): string | undefined {
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    if (arg === '--config') return argv[index + 1];
    if (arg.startsWith('--config=')) return arg.slice('--config='.length);
  }
  return undefined;
}

export interface LocalConfigChoice {
  readonly file: string;
  /** The app wrote the starter config just now. */
  readonly created: boolean;
}

export async function localConfigFile(options: { argv: readonly string[]; env: NodeJS.ProcessEnv; cwd: string; userData: string }): Promise<LocalConfigChoice> {
  const chosen = configArgument(options.argv) ?? options.env.SLUICE_CONFIG;
  if (chosen) return { file: resolve(options.cwd, chosen), created: false };
  const file = join(options.userData, 'sluice.yaml');
  const exists = await access(file).then(
    () => true,
    () => false,
  );
  if (exists) return { file, created: false };
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  // 'wx': never overwrite one another instance wrote a moment ago.
  await writeFile(file, STARTER_CONFIG, { mode: 0o600, flag: 'wx' }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return { file, created: true };
}
