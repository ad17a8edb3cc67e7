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

-- Events are stored in batches: one row per session per commit, holding that session's events
-- of the batch as a JSON array of [seq, time, kind, payload]. A row per event cost the gateway
-- more CPU than relaying the statement did (a B-tree insert and five bound values each); a row
-- per batch keeps recording off the critical path. The \`events\` view below gives back one row
-- per event, for queries and for anyone opening the file with sqlite3.
CREATE TABLE event_batches (
  session_id TEXT NOT NULL REFERENCES sessions (id),
  first_seq INTEGER NOT NULL CHECK (first_seq >= 1),
  last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),
  last_time INTEGER NOT NULL,
  events TEXT NOT NULL,                    -- [[seq, time, kind, payload], ...], seq consecutive
  PRIMARY KEY (session_id, first_seq)
) STRICT, WITHOUT ROWID;

CREATE VIEW events (session_id, seq, time, kind, payload) AS
  SELECT b.session_id, e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value -> 3
  FROM event_batches AS b, json_each(b.events) AS e;
`;

export const migration001: Migration = {
  version: 1,
  name: 'sessions-and-events',
  up: (db) => db.exec(SQL),
};
