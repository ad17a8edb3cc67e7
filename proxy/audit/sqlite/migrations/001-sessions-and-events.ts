import type { Migration } from '../migrate.js';

// Sessions and their events (DESIGN.md, data model). The hash chain arrives with its own
// migration. STRICT tables: SQLite refuses a value of the wrong type instead of storing it.
// Times: sessions in ms since the epoch, events in µs (statements are often sub-millisecond).
const SQL = `
CREATE TABLE sessions (
  id TEXT PRIMARY KEY NOT NULL,            -- ULID: sorts by start time
  resource TEXT NOT NULL,
  protocol TEXT NOT NULL CHECK (protocol IN ('postgres', 'http', 'exec', 'mcp')),
  identity TEXT NOT NULL CHECK (json_valid(identity)),    -- {subject, issuer, method, groups}
  client_address TEXT NOT NULL,
  application TEXT,
  started_at INTEGER NOT NULL,
  ended_at INTEGER,
  status TEXT NOT NULL CHECK (status IN ('open', 'closed', 'aborted')),
  counters TEXT NOT NULL CHECK (json_valid(counters))     -- {statements, errors, rows}
) STRICT;

CREATE INDEX sessions_by_start ON sessions (started_at DESC, id DESC);
CREATE INDEX sessions_by_resource ON sessions (resource, started_at DESC);
-- Crash recovery looks for the sessions still open; few rows ever are.
CREATE INDEX sessions_open ON sessions (status) WHERE status = 'open';

CREATE TABLE events (
  session_id TEXT NOT NULL REFERENCES sessions (id),
  seq INTEGER NOT NULL CHECK (seq >= 1),
  time INTEGER NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL CHECK (json_valid(payload)),
  PRIMARY KEY (session_id, seq)
) STRICT, WITHOUT ROWID;
`;

export const migration001: Migration = {
  version: 1,
  name: 'sessions-and-events',
  up: (db) => db.exec(SQL),
};
