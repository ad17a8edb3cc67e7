import { transcriptFrames, type TranscriptEvent, type TranscriptFrame, type TranscriptSession } from '../../../../proxy/common/transcript.js';
import { record, str } from './payload-fields.js';

// What the replayer plays: the psql-like transcript of a PostgreSQL session, and for terminal
// sessions (protocol exec, `output` events) the output itself, written as the terminal got it.

export interface ReplayFrame extends TranscriptFrame {
  /** Terminal output to write as recorded (escape sequences and all), not transcript text. */
  readonly raw?: boolean;
}

export function replayFrames(session: TranscriptSession & { readonly protocol?: string }, events: readonly TranscriptEvent[]): ReplayFrame[] {
  const frames: ReplayFrame[] = transcriptFrames(session, events);
  if (session.protocol !== 'exec') return frames;
  const output = new Map<number, string>();
  for (const event of events) {
    if (event.kind !== 'output') continue;
    const data = str(record(event.payload).data);
    if (data !== undefined) output.set(event.seq, data);
  }
  if (output.size === 0) return frames;
  // The transcript shows an output event as a one-line note; the terminal gets the output itself.
  return frames.map((frame) => {
    const data = output.get(frame.seq);
    return data === undefined ? frame : { ...frame, text: data, raw: true };
  });
}
