import type { SessionMark, SessionQuery } from '../audit-types.js';
import type { SqlValue } from './sqlite-connection.js';

// The WHERE clause of listSessions. Cheap filters read the sessions row; `had` and `search` read
// the session's events, which are stored in batches (migration 001: one JSON array per session
// per commit). Parsing every batch would cost seconds on a large store, so each event filter is
// a correlated EXISTS that SQLite codes after every other term (where.c codes terms holding a
// correlated subquery last): it runs only for the sessions the cheap filters kept, newest first,
// until the LIMIT is reached. Within a session, a batch's raw text is first checked for a
// string every matching event must contain (the events are canonical JSON, see
// proxy/common/canonical-json.ts), and only batches that pass are parsed with json_each.
//
// Case-insensitivity is SQLite's LIKE: ASCII letters only (SQLite is built without ICU here).

/** A batch row's events, each [seq, time, kind, payload, prev_hash, hash]: `e` is one of them. */
const KIND = "e.value ->> '$[2]'";
const PAYLOAD = (path: string) => `e.value ->> '$[3].${path}'`;

/** The LIKE escape character used by every pattern built here. */
const ESCAPE = "ESCAPE '\\'";

interface EventTest {
  /** Strings one of which every batch holding a matching event contains, as raw JSON text. */
  readonly prefilter: readonly string[];
  /** The test on one event `e`. */
  readonly sql: string;
}

/**
 * What each mark means in the events the gateway writes (proxy/postgres/statement-gate.ts,
 * result-limiter.ts, client-session.ts, proxy/approvals/*; proxy/common/transcript.ts reads them
 * the same way).
 */
const MARK_EVENTS: Readonly<Record<SessionMark, EventTest>> = {
  // Refused by policy, the masking guard or the fast-path rule (a `decision` to deny); a
  // statement reported refused (also by an approver, or because the store could not record it);
  // a result stopped or refused by a limit.
  denial: {
    prefilter: ['"deny"', '"limit"'],
    sql:
      `CASE ${KIND} WHEN 'decision' THEN ${PAYLOAD('effect')} = 'deny' ` +
      `WHEN 'query' THEN ${PAYLOAD('decision.effect')} = 'deny' ` +
      `WHEN 'limit' THEN ${PAYLOAD('action')} IN ('stopped', 'denied', 'refused') ELSE 0 END`,
  },
  // Any approval event: the first of each is `requested`, in the session that asked.
  approval: { prefilter: ['"approval"'], sql: `${KIND} = 'approval'` },
  // A statement whose result had cells masked (its `masked` counts per rule).
  masking: {
    prefilter: ['"masked"'],
    sql: `${KIND} = 'query' AND json_type(e.value, '$[3].masked') = 'object' AND e.value -> '$[3].masked' <> '{}'`,
  },
  // An `error` event (upstream login failure, a session aborted) or a statement that failed.
  error: {
    prefilter: ['"error"'],
    sql: `CASE ${KIND} WHEN 'error' THEN 1 WHEN 'query' THEN ${PAYLOAD('outcome')} = 'error' OR json_type(e.value, '$[3].error') IS NOT NULL ELSE 0 END`,
  },
};

/** Text search reads the statement as recorded in these events' `text`. */
const STATEMENT_KINDS = "('query', 'decision')";

export interface SqlFilter {
  readonly where: string[];
  readonly params: SqlValue[];
}

/** The conditions on `sessions AS s` for `query` (without limit), and their parameters in order. */
export function sessionFilter(query: SessionQuery): SqlFilter {
  const where: string[] = [];
  const params: SqlValue[] = [];
  const add = (sql: string, ...values: SqlValue[]) => {
    where.push(sql);
    params.push(...values);
  };
  if (query.resource !== undefined) add('s.resource = ?', query.resource);
  if (query.status !== undefined) add('s.status = ?', query.status);
  if (query.protocol !== undefined) add('s.protocol = ?', query.protocol);
  if (query.since !== undefined) add('s.started_at >= ?', query.since);
  if (query.until !== undefined) add('s.started_at < ?', query.until);
  if (query.identity) add(`s.identity ->> '$.subject' LIKE ? ${ESCAPE}`, containsPattern(query.identity));
  for (const mark of new Set(query.had ?? [])) {
    const exists = eventExists(MARK_EVENTS[mark]);
    // A session's counters know its failed statements once it has ended.
    add(mark === 'error' ? `(json_extract(s.counters, '$.errors') > 0 OR ${exists})` : exists);
  }
  if (query.search) {
    add(
      `EXISTS (SELECT 1 FROM event_batches AS b, json_each(b.events) AS e WHERE b.session_id = s.id AND b.events LIKE ? ${ESCAPE} ` +
        `AND ${KIND} IN ${STATEMENT_KINDS} AND ${PAYLOAD('text')} LIKE ? ${ESCAPE})`,
      containsPattern(jsonEscaped(query.search)),
      containsPattern(query.search),
    );
  }
  return { where, params };
}

function eventExists(test: EventTest): string {
  // The prefilter strings are constants of this file, never input: inlined as literals.
  const prefilter = test.prefilter.map((text) => `instr(b.events, '${text}') > 0`).join(' OR ');
  return `EXISTS (SELECT 1 FROM event_batches AS b, json_each(b.events) AS e WHERE b.session_id = s.id AND (${prefilter}) AND (${test.sql}))`;
}

/** A LIKE pattern matching any text that contains `text` literally (its %, _ and \ included). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`;
}

/**
 * `text` as it appears inside a JSON string in the stored events: canonical JSON escapes exactly
 * what JSON.stringify does (quotes, backslashes, control characters), character by character.
 */
export function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}
