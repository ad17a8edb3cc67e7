import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { asciicastOf, formatAsciicast, NotATerminalSessionError } from '../../common/asciicast.js';
import type { ParsedArgs } from '../command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from '../io.js';
import { withReader } from './sessions.js';

// `sluice export --asciicast SESSION [-o FILE]`: a terminal session (exec) as a standard
// asciicast v2 file, for asciinema and any player of the format. Without -o it goes to stdout.
// What it holds is what the caller saw: output masked as recorded.

export async function exportAsciicast(args: ParsedArgs, io: CliIo, id: string, output: string | undefined, force: boolean): Promise<number> {
  return withReader(args, io, async (reader) => {
    const session = await reader.getSession(id);
    if (!session) {
      io.stderr(`sluice export: no session ${JSON.stringify(id)} in ${reader.file}; list them with 'sluice sessions --protocol exec'\n`);
      return EXIT_FAILED;
    }
    let text: string;
    try {
      text = formatAsciicast(asciicastOf(session, await reader.listEvents(id)));
    } catch (error) {
      if (!(error instanceof NotATerminalSessionError)) throw error;
      io.stderr(`sluice export: ${error.message}\n`);
      return EXIT_FAILED;
    }
    if (output === undefined || output === '-') {
      io.stdout(text);
      return EXIT_OK;
    }
    const path = resolve(io.cwd, output);
    let file;
    try {
      file = await open(path, force ? 'w' : 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      io.stderr(`sluice export: ${path} exists; choose another -o, or pass --force to replace it\n`);
      return EXIT_FAILED;
    }
    try {
      await file.writeFile(text);
    } finally {
      await file.close();
    }
    io.stdout(`wrote ${path}: asciicast v2 of session ${id}, ${text.split('\n').length - 2} events\n`);
    return EXIT_OK;
  });
}
