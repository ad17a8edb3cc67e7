import type { PostgresMigration } from '../migrate.js';

// The store several gateways share (docs/audit-format.md has the chains). Differences from the
// SQLite store, and why:
// - every session names its gateway, and each gateway keeps its own ledger, checkpoints and
//   retention records, keyed (gateway, n): gateways append concurrently and none can know
//   another's ledger head;
// - one row per event, payload as TEXT: the exact canonical JSON that was hashed (jsonb would
//   reorder keys and renormalize numbers, and the stored text would no longer hash);
// - gateways.writer / writer_batch: the process writing as that gateway now, and the last batch
//   it committed, so a batch retried after a lost COMMIT acknowledgement is never written twice.
// Times: sessions, gateways, checkpoints and prunes in ms since the epoch, events and ledger in µs.
const SQL = `
CREATE TABLE sluice.gateways (
  id text PRIMARY KEY,                     -- its signing key's kid
  name text NOT NULL,                      -- host name and data_dir, for people
  public_key text NOT NULL,                -- sluice-ed25519:… as 'sluice key show' prints it
  first_seen bigint NOT NULL,
  last_seen bigint NOT NULL,               -- its last start or commit
  writer text,                             -- random per open: a second process with the same key takes over
  writer_batch bigint NOT NULL DEFAULT 0
);

CREATE TABLE sluice.sessions (
  id text PRIMARY KEY,                     -- ULID: sorts by start time
  gateway text NOT NULL REFERENCES sluice.gateways (id),
  resource text NOT NULL,
  protocol text NOT NULL CHECK (protocol IN ('postgres', 'http', 'exec', 'mcp')),
  identity jsonb NOT NULL,                 -- {subject, issuer, method, groups}; not hashed
  client_address text NOT NULL,
  application text,
  started_at bigint NOT NULL,
  ended_at bigint,
  status text NOT NULL CHECK (status IN ('open', 'closed', 'aborted')),
  counters jsonb NOT NULL,                 -- {statements, errors, rows}
  final_hash text
);

CREATE INDEX sessions_by_start ON sluice.sessions (started_at DESC, id DESC);
CREATE INDEX sessions_by_resource ON sluice.sessions (resource, started_at DESC);
CREATE INDEX sessions_by_gateway ON sluice.sessions (gateway, started_at, id);
-- A gateway starting up seals the sessions it left open; few rows ever are.
CREATE INDEX sessions_open ON sluice.sessions (gateway) WHERE status = 'open';

CREATE TABLE sluice.events (
  session_id text NOT NULL REFERENCES sluice.sessions (id),
  seq bigint NOT NULL CHECK (seq >= 1),
  time bigint NOT NULL,
  kind text NOT NULL,
  payload text NOT NULL,                   -- canonical JSON, byte for byte what was hashed
  prev_hash text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (session_id, seq)
);

CREATE TABLE sluice.ledger (
  gateway text NOT NULL REFERENCES sluice.gateways (id),
  n bigint NOT NULL CHECK (n >= 1),
  kind text NOT NULL CHECK (kind IN ('start', 'seal')),
  session_id text NOT NULL,
  hash text NOT NULL,
  time bigint NOT NULL,
  prev text NOT NULL,
  entry_hash text NOT NULL,
  PRIMARY KEY (gateway, n)
);

-- Retention looks up each session's start entry.
CREATE INDEX ledger_by_session ON sluice.ledger (gateway, session_id);

CREATE TABLE sluice.checkpoints (
  gateway text NOT NULL REFERENCES sluice.gateways (id),
  n bigint NOT NULL,
  time bigint NOT NULL,
  ledger_n bigint NOT NULL,
  ledger_head text NOT NULL,
  kid text NOT NULL,
  jws text NOT NULL,                       -- compact JWS (EdDSA) over {kid, time, ledger_n, ledger_head}
  PRIMARY KEY (gateway, n)
);

CREATE TABLE sluice.prunes (
  gateway text NOT NULL REFERENCES sluice.gateways (id),
  n bigint NOT NULL,
  time bigint NOT NULL,
  horizon bigint NOT NULL,                 -- sessions that ended before this (ms) were removed
  sessions text NOT NULL,                  -- canonical [{id, first, last}, ...]: hashed, so text
  kid text NOT NULL,
  jws text NOT NULL,                       -- compact JWS over {kid, time, horizon, count, sessions_sha256}
  PRIMARY KEY (gateway, n)
);
`;

export const migration001: PostgresMigration = {
  version: 1,
  name: 'shared-store',
  up: async (client) => {
    await client.query(SQL.trim());
  },
};
