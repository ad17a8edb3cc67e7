import type { Migration } from '../migrate.js';

// Retention (audit.retention) deletes old sessions; the ledger keeps naming them. Each pruning
// records which sessions it removed, with their first and final hashes, signed with the
// gateway's key: the ledger still verifies, and a session deleted by anyone else does not.
const SQL = `
CREATE TABLE prunes (
  n INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,                   -- ms since the epoch
  horizon INTEGER NOT NULL,                -- sessions that ended before this (ms) were removed
  sessions TEXT NOT NULL CHECK (json_valid(sessions)),   -- canonical [{id, first, last}, ...]
  kid TEXT NOT NULL,
  jws TEXT NOT NULL                        -- compact JWS over {kid, time, horizon, count, sessions_sha256}
) STRICT;
`;

export const migration003: Migration = {
  version: 3,
  name: 'retention',
  up: (db) => db.exec(SQL),
};
