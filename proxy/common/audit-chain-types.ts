// The tamper-evident audit trail as data, shared by the gateway that writes it (proxy/audit/)
// and every verifier (`sluice verify`, the renderer opening a bundle offline). No Node APIs here.
//
// Hashing, exactly (docs/audit-format.md says the same for other tools):
//   canonical(x)   JSON with object keys sorted by UTF-16 code units at every depth, no
//                  whitespace, strings and numbers as JSON.stringify writes them (RFC 8785, JCS)
//   event hash     sha256hex(prev_hash + canonical({session_id, seq, time, kind, payload}))
//                  where prev_hash is the previous event's hash (GENESIS_HASH for seq 1) and `+`
//                  joins the 64 hex characters and the canonical text as UTF-8
//   ledger hash    sha256hex(prev + canonical({n, kind, session_id, hash, time}))
//                  prev: the previous ledger entry's hash (GENESIS_HASH for n 1)

/** The prev_hash of a session's first event and of the ledger's first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** One recorded event, as hashed and as stored. */
export interface ChainedEvent {
  readonly session_id: string;
  /** 1, 2, 3, … within its session. */
  readonly seq: number;
  /** Microseconds since the epoch. */
  readonly time: number;
  readonly kind: string;
  readonly payload: unknown;
  readonly prev_hash: string;
  readonly hash: string;
}

/**
 * The gateway-level chain: an entry when a session starts (hash: its first event's hash) and
 * when it ends (hash: its final event's hash, the seal). Deleting a session, or any of its
 * events, breaks this chain or the session's own.
 */
export interface LedgerEntry {
  /** 1, 2, 3, … */
  readonly n: number;
  readonly kind: 'start' | 'seal';
  readonly session_id: string;
  /** start: the session's first event hash; seal: its last event hash. */
  readonly hash: string;
  /** Microseconds since the epoch. */
  readonly time: number;
  readonly prev: string;
  /** This entry's own hash. */
  readonly entry_hash: string;
}

/** What a checkpoint signs: the ledger as it stood (JWS payload, EdDSA, compact serialization). */
export interface CheckpointClaims {
  /** The gateway's key id (see signing). */
  readonly kid: string;
  /** Milliseconds since the epoch. */
  readonly time: number;
  /** The last ledger entry covered and its entry_hash. */
  readonly ledger_n: number;
  readonly ledger_head: string;
}

/** A session retention removed: what the ledger still names it by. */
export interface PrunedSession {
  readonly id: string;
  /** Its first and final event hashes, as its ledger start and seal entries hold them. */
  readonly first: string;
  readonly last: string;
}

/** What a pruning signs (JWS typ `sluice-prune+jws`): which sessions it removed, by their hashes. */
export interface PruneClaims {
  readonly kid: string;
  /** Milliseconds since the epoch. */
  readonly time: number;
  /** Sessions that ended before this (ms since the epoch) were removed. */
  readonly horizon: number;
  readonly count: number;
  /** sha256hex of canonical(PrunedSession[]) in the order stored. */
  readonly sessions_sha256: string;
}

/** The first thing wrong, precisely enough to find it in the store. */
export interface ChainProblem {
  readonly session_id?: string;
  readonly seq?: number;
  readonly ledger_n?: number;
  readonly message: string;
}
