import { serialize } from 'pg-protocol';

// A denied statement is replaced by one that makes the upstream itself raise an error with the
// denial's SQLSTATE, so PostgreSQL puts the session in exactly the state a failed statement
// leaves: an open transaction block is aborted, an implicit one rolled back, and in the extended
// protocol everything up to Sync is skipped. The client sees the gateway's own error text
// (StatementLog swaps it in), never this block's.

/** The prepared statement name the extended-protocol replacement uses; closed again before each use. */
export const RAISE_STATEMENT = 'sluice_denied';

const cache = new Map<string, { readonly query: Buffer; readonly extended: Buffer }>();

function raiseSql(sqlstate: string): string {
  if (!/^[0-9A-Z]{5}$/.test(sqlstate)) throw new Error(`not a SQLSTATE: ${sqlstate}`);
  return `DO $sluice$BEGIN RAISE EXCEPTION USING ERRCODE = '${sqlstate}'; END$sluice$`;
}

function framesFor(sqlstate: string) {
  let frames = cache.get(sqlstate);
  if (!frames) {
    const sql = raiseSql(sqlstate);
    frames = {
      query: serialize.query(sql),
      extended: Buffer.concat([
        serialize.close({ type: 'S', name: RAISE_STATEMENT }),
        serialize.parse({ name: RAISE_STATEMENT, text: sql, types: [] }),
        serialize.bind({ portal: RAISE_STATEMENT, statement: RAISE_STATEMENT, values: [] }),
        serialize.execute({ portal: RAISE_STATEMENT }),
      ]),
    };
    cache.set(sqlstate, frames);
  }
  return frames;
}

/** A Query message whose only effect is the error. */
export function raiseQuery(sqlstate: string): Buffer {
  return framesFor(sqlstate).query;
}

/**
 * Close, Parse, Bind and Execute of the raising statement, in place of a client's Execute. The
 * first three answers are swallowed (see RAISE_EXTENDED_STEPS); the Execute's error is the denial.
 */
export function raiseExtended(sqlstate: string): Buffer {
  return framesFor(sqlstate).extended;
}

export const RAISE_EXTENDED_STEPS = 3;
