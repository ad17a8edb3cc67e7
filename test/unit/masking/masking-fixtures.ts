import { serialize } from 'pg-protocol';
import type { ContentMasker } from '../../../proxy/masking/masking-types.js';
import type { RawPostgres } from '../postgres/raw-postgres.js';

// What the codec and DataRow tests share: real cells from the suite's PostgreSQL, and a content
// masker simple enough that the expected output is obvious (the real detectors have their own tests).

/** Runs a one-column, one-row statement; the cell as sent (binary when asked, copied), or the server's error. */
export async function oneCell(postgres: RawPostgres, text: string, values: (string | Buffer | null)[] = [], binary = false): Promise<Buffer | null> {
  const messages = await postgres.exchange(Buffer.concat([serialize.parse({ text }), serialize.bind({ values, binary }), serialize.execute({}), serialize.sync()]));
  const error = messages.find((message) => message[0] === 0x45);
  if (error) throw new Error(error.subarray(5).toString('utf8').split('\0').find((field) => field.startsWith('M'))!.slice(1));
  const row = messages.find((message) => message[0] === 0x44)!;
  const length = row.readInt32BE(7);
  return length < 0 ? null : Buffer.from(row.subarray(11, 11 + length));
}

/** Replaces each word holding `@` with `[email]`: one hit per word under `emails`. */
export const atWords: ContentMasker = {
  empty: false,
  mask(text, hits) {
    if (!text.includes('@')) return undefined;
    let count = 0;
    const masked = text.replace(/[^\s"\\,{}]*@[^\s"\\,{}]*/g, () => {
      count++;
      return '[email]';
    });
    hits.set('emails', (hits.get('emails') ?? 0) + count);
    return masked;
  },
};
