// Terminal sessions (protocol exec, proxy/exec/terminal-recording.ts) in the replay
// (transcript.ts): the command after a `$ ` prompt, its output as the terminal got it with
// control characters escaped (line breaks and tabs kept), resizes, links and the exit as
// comments. `sluice export --asciicast` (asciicast.ts) is the way to see the output with its
// colours and cursor moves.

import { commandLine } from './command-line.js';
import { printable } from './printable.js';
import { type Payload, num, str } from './payload-fields.js';


export interface TerminalFrame {
  readonly kind: 'statement' | 'result' | 'notice' | 'error';
  /** Output: as recorded, escaped, not necessarily ending with a line break. Other kinds: whole lines. */
  readonly text: string;
}

/** The `$ command` line of an exec session's command (argv). */
export function commandPromptLine(command: unknown): string {
  const argv = Array.isArray(command) ? command.map(String) : [];
  return `$ ${printable(commandLine(argv))}`;
}

/**
 * A terminal event's frame; undefined for what a terminal session never shows (a start the
 * decision before it already showed). `commandShown`: the command is on screen already.
 */
export function terminalFrame(kind: string, p: Payload, commandShown: boolean): TerminalFrame | undefined {
  switch (kind) {
    case 'output':
      if (typeof p.data === 'string') return { kind: 'result', text: outputText(p.data) };
      return { kind: 'notice', text: `-- terminal resized to ${num(p.cols) ?? '?'}x${num(p.rows) ?? '?'}\n` };
    case 'input':
      return { kind: 'notice', text: `-- typed: ${printable(typeof p.data === 'string' ? p.data : '')}\n` };
    case 'error':
      return { kind: 'error', text: `-- session aborted: ${printable(str(p.message) ?? 'unknown reason')}\n` };
    case 'notice':
      switch (p.action) {
        case 'start':
          return commandShown ? undefined : { kind: 'statement', text: `${commandPromptLine(p.command)}\n` };
        case 'exit':
          return { kind: p.exit_code === 0 ? 'notice' : 'error', text: `-- ${printable(str(p.message) ?? 'exited')}\n` };
        default:
          return { kind: 'notice', text: `-- ${printable(str(p.message) ?? String(p.action))}\n` };
      }
    default:
      return undefined;
  }
}

/** Output as text: CRLF as a line break, every other control character escaped. */
function outputText(data: string): string {
  return printable(data.replace(/\r\n/g, '\n'), '\n\t');
}


