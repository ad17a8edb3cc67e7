import type { ApprovalMigration } from '../approval-migrate.js';

// One row per held request, whichever gateway holds it; votes apart, one row each. Times are
// timestamptz written from the gateways' epoch-ms clocks (exact: PostgreSQL keeps microseconds).
// `version` goes up by one with every change, so a gateway applying rows it fetched can tell a
// stale read from a newer one.
const SQL = `
CREATE TABLE sluice.approvals (
  id text PRIMARY KEY,
  gateway text NOT NULL,                 -- the gateway holding the statement (its id)
  session_id text NOT NULL,
  request jsonb NOT NULL,                -- the ApprovalRequest as approvers see it
  status text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'cancelled')),
  requested_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  quorum integer NOT NULL CHECK (quorum >= 1),
  decided_at timestamptz,
  reason text,
  granted_until timestamptz,
  executed_at timestamptz,
  version integer NOT NULL DEFAULT 0,
  CHECK ((status = 'pending') = (decided_at IS NULL)),
  CHECK (executed_at IS NULL OR status = 'approved'),
  CHECK (granted_until IS NULL OR status = 'approved')
);

-- The holder's safety-net poll and the expiry sweep read pending rows only.
CREATE INDEX approvals_pending ON sluice.approvals (gateway, expires_at) WHERE status = 'pending';
-- A gateway's view at start: the newest decisions.
CREATE INDEX approvals_decided ON sluice.approvals (decided_at DESC) WHERE status <> 'pending';

CREATE TABLE sluice.approval_votes (
  approval_id text NOT NULL REFERENCES sluice.approvals (id) ON DELETE CASCADE,
  seq bigint GENERATED ALWAYS AS IDENTITY,   -- vote order
  approver_subject text NOT NULL,
  approver_issuer text NOT NULL,
  decision text NOT NULL CHECK (decision IN ('approve', 'deny')),
  reason text,
  scope text NOT NULL CHECK (scope IN ('once', 'session')),
  at timestamptz NOT NULL,
  PRIMARY KEY (approval_id, seq)
);

-- Quorum counts each approver once. Partial, like the broker's rule: an approver who approved
-- may still deny (a deny ends the approval, so there is never a second deny).
CREATE UNIQUE INDEX approval_votes_one_approval_per_approver
  ON sluice.approval_votes (approval_id, approver_subject, approver_issuer)
  WHERE decision = 'approve';
`;

export const migration001: ApprovalMigration = {
  version: 1,
  name: 'approvals and votes',
  sql: SQL,
};
