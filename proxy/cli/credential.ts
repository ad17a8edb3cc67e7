import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UsageError, type CliIo } from './io.js';

/** The caller's credential for commands that present one: --token-file (trimmed), else $SLUICE_TOKEN. */
export async function readCredential(tokenFile: string | undefined, io: CliIo): Promise<string> {
  if (tokenFile) {
    let text: string;
    try {
      text = await readFile(resolve(io.cwd, tokenFile), 'utf8');
    } catch (error) {
      throw new UsageError(`--token-file ${tokenFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'pass a readable file');
    }
    if (!text.trim()) throw new UsageError(`--token-file ${tokenFile} is empty`, 'put the token or OIDC JWT in it');
    return text.trim();
  }
  const fromEnv = io.env.SLUICE_TOKEN?.trim();
  if (!fromEnv) throw new UsageError('no credential given', 'set SLUICE_TOKEN or pass --token-file FILE');
  return fromEnv;
}
