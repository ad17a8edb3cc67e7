import type pg from 'pg';
import type { SessionMark, SessionQuery } from '../audit-types.js';
import { containsPattern, jsonEscaped } from '../like-patterns.js';

// listSessions' filters on the shared store. The row filters read sluice.sessions (`s`). `had`
// and `search` read events (one row each, keyed (session_id, seq)), so read-queries.ts hands
// them the sessions the row filters kept a chunk at a time, newest first, until it has enough:
// left to itself the planner either scans every event (it cannot estimate how many match) or
// probes sessions one by one through the index (slow when few match). Each event filter keeps
// the sessions of the chunk that pass it, and hands them to the next. Session ids are ULIDs,
// so a chunk's events lie in one key range: reading is bounded to it.
//
// Case-insensitive matching is ILIKE: as the database's LC_CTYPE folds case.
//
// Payloads are TEXT, the canonical JSON that was hashed (migration 001): no spaces, strings
// escaped as JSON.stringify escapes them. An event is parsed only once its kind, and a string
// every matching payload holds, say it may match; parsed as json, not jsonb, which costs less
// to build for a value read once.

type Queryable = Pick<pg.ClientBase, 'query'>;

/** An event filter: a condition on `e`, its parameters numbered from $2 ($1 holds the sessions). */
interface EventTest {
  readonly sql: string;
  readonly params: readonly string[];
}

const P = 'e.payload::json';

/** The LIKE escape character of every pattern built here (E'' reads the same whatever standard_conforming_strings says). */
const ESCAPE = "ESCAPE E'\\\\'";

/** What each mark means in the events the gateway writes, read as proxy/common/transcript.ts reads them. */
const MARK_TESTS: Readonly<Record<SessionMark, EventTest>> = {
  // A `decision` to deny (policy, the masking guard, fast-path calls); a statement reported
  // refused (after a denied approval too, or when the store could not record it); a result
  // stopped or refused by a limit.
  denial: {
    sql:
      `(e.kind = 'decision' AND strpos(e.payload, '"deny"') > 0 AND ${P} ->> 'effect' = 'deny') ` +
      `OR (e.kind = 'query' AND strpos(e.payload, '"deny"') > 0 AND ${P} #>> '{decision,effect}' = 'deny') ` +
      `OR (e.kind = 'limit' AND ${P} ->> 'action' IN ('stopped', 'denied', 'refused'))`,
    params: [],
  },
  // Any approval event: the first of each is `requested`, recorded in the session that asked.
  approval: { sql: "e.kind = 'approval'", params: [] },
  // A statement whose result had cells masked (`masked`: counts per rule).
  masking: {
    sql:
      `strpos(e.payload, '"masked"') > 0 AND (` +
      `(e.kind IN ('query', 'http_response') AND json_typeof(${P} -> 'masked') = 'object' AND (${P} -> 'masked')::text <> '{}') OR ` +
      `(e.kind = 'http_request' AND json_typeof(${P} #> '{response,masked}') = 'object' AND (${P} #> '{response,masked}')::text <> '{}'))`,
    params: [],
  },
  // An `error` event (an upstream login refused, a session aborted) or a statement that failed
  // upstream. A statement the gateway refused is a denial, not an error (the session's error
  // counter counts both, so it is not used here).
  error: {
    sql:
      `e.kind = 'error' OR (e.kind = 'query' AND strpos(e.payload, '"error"') > 0 AND (${P} ->> 'outcome' = 'error' OR ${P} -> 'error' IS NOT NULL) ` +
      `AND coalesce(${P} #>> '{decision,effect}', '') <> 'deny')`,
    params: [],
  },
};

/** Statement text as recorded (masked by content rules): `text` of these events. */
function searchTest(search: string): EventTest {
  return {
    sql: `e.kind IN ('query', 'decision', 'http_request') AND e.payload ILIKE $2 ${ESCAPE} AND ${P} ->> 'text' ILIKE $3 ${ESCAPE}`,
    params: [containsPattern(jsonEscaped(search)), containsPattern(search)],
  };
}

export interface PgFilter {
  readonly where: readonly string[];
  readonly params: readonly (string | number)[];
}

/** The conditions on the sessions row (`sluice.sessions AS s`), numbering parameters from $1. */
export function rowFilter(query: SessionQuery): PgFilter {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const param = (value: string | number) => `$${params.push(value)}`;
  if (query.resource !== undefined) where.push(`s.resource = ${param(query.resource)}`);
  if (query.status !== undefined) where.push(`s.status = ${param(query.status)}`);
  if (query.protocol !== undefined) where.push(`s.protocol = ${param(query.protocol)}`);
  if (query.since !== undefined) where.push(`s.started_at >= ${param(query.since)}`);
  if (query.until !== undefined) where.push(`s.started_at < ${param(query.until)}`);
  if (query.identity) where.push(`s.identity ->> 'subject' ILIKE ${param(containsPattern(query.identity))} ${ESCAPE}`);
  return { where, params };
}

/** Whether the query reads events (had, search). */
export function readsEvents(query: SessionQuery): boolean {
  return (query.had?.length ?? 0) > 0 || Boolean(query.search);
}

/** The candidates (session ids) whose events pass `had` and `search`, each filter on the survivors of the one before (the rarest first). */
export async function passingEvents(db: Queryable, candidates: readonly string[], query: SessionQuery): Promise<Set<string>> {
  let ids = [...candidates];
  if (query.search) ids = await survivors(db, ids, searchTest(query.search));
  for (const mark of ['approval', 'denial', 'masking', 'error'] as const) {
    if (ids.length === 0 || !query.had?.includes(mark)) continue;
    ids = await survivors(db, ids, MARK_TESTS[mark]);
  }
  return new Set(ids);
}

async function survivors(db: Queryable, ids: readonly string[], test: EventTest): Promise<string[]> {
  if (ids.length === 0) return [];
  // Sorted by code unit, compared COLLATE "C": the same order whatever the database's collation.
  const sorted = [...ids].sort();
  const from = test.params.length + 2;
  // The key range is a cheap first test: when the planner scans the whole table (its choice from
  // a few hundred sessions on), other chunks' events are passed over before the costly test.
  const { rows } = await db.query<{ id: string }>(
    `SELECT DISTINCT e.session_id AS id FROM sluice.events AS e WHERE e.session_id COLLATE "C" BETWEEN $${from} AND $${from + 1} ` +
      `AND e.session_id = ANY($1::text[]) AND (${test.sql})`,
    [sorted, ...test.params, sorted[0], sorted.at(-1)],
  );
  return rows.map((row) => row.id);
}
