import { assertNever } from '../common/assert-never.js';
import type { StatementKind } from '../common/statement-kinds.js';
import type { StatementClass, StatementFlag } from '../sql/statement-class.js';
import { matchingGroup, type Caller, type CompiledRule, type Hit } from './rule-match.js';

// The words of decisions: short trace lines (`kind delete on public.users`, `flag no_where`,
// `groups ci`) and generated reasons (`DELETE on public.users needs approval (rule ci-writes)`).
// Only matching rules get words, so none of this runs for rules that do not apply.

const KIND_WORDS: Readonly<Record<StatementKind, string>> = {
  select: 'SELECT',
  insert: 'INSERT',
  update: 'UPDATE',
  delete: 'DELETE',
  merge: 'MERGE',
  truncate: 'TRUNCATE',
  ddl: 'DDL',
  copy_in: 'COPY FROM',
  copy_out: 'COPY TO',
  grant: 'GRANT',
  set: 'SET',
  transaction: 'transaction control',
  call: 'CALL',
  prepare: 'PREPARE',
  explain: 'EXPLAIN',
  utility: 'utility statement',
};

const FLAG_WORDS: Readonly<Record<StatementFlag, string>> = {
  no_where: 'without WHERE',
  cte_write: 'writing inside WITH',
  select_into: 'creating a table (SELECT INTO)',
  copy_program: 'running a program (COPY PROGRAM)',
  dangerous_function: 'calling a dangerous function',
  unknown_function: 'calling a function that may write',
  set_role: 'changing role',
  explain_analyze: 'run by EXPLAIN ANALYZE',
  full_scan: 'reading a whole listed table (no WHERE or LIMIT)',
};

const MAX_LISTED_RELATIONS = 3;
const EXCERPT_LENGTH = 48;

/** Trace words for a deny/approve rule: what it hit, else who it matched. */
export function restrictiveWhy(rule: CompiledRule, hit: Hit, statement: StatementClass, caller: Caller, resource: string): string {
  let why = '';
  if (hit.kind) why = `kind ${hit.kind}${on(hit.relation ?? target(statement))}`;
  else if (hit.relation) why = `relation ${hit.relation}`;
  if (hit.flag) why += `${why ? ', ' : ''}flag ${hit.flag}`;
  return why || whoWhy(rule, caller, resource);
}

/** Trace words for an allow rule that covers the statement. */
export function allowWhy(rule: CompiledRule, statement: StatementClass, caller: Caller, resource: string): string {
  let why = '';
  if (rule.kinds) {
    const kinds = unique(statement.operations);
    why = `${kinds.length > 1 ? 'kinds' : 'kind'} ${kinds.join(', ')}${on(relationList(statement))}`;
  } else if (rule.relations) {
    const relations = relationList(statement);
    if (relations) why = `${statement.reads.length + statement.writes.length > 1 ? 'relations' : 'relation'} ${relations}`;
  }
  if (rule.flags && statement.flags.length > 0) why += `${why ? ', ' : ''}${statement.flags.length > 1 ? 'flags' : 'flag'} ${statement.flags.join(', ')}`;
  return why || whoWhy(rule, caller, resource);
}

/** `DELETE on public.users needs approval (rule ci-writes)`; a deny says only what it denied. */
export function generatedReason(rule: CompiledRule, hit: Hit | undefined, statement: StatementClass): string {
  return effectReason(rule, `${KIND_WORDS[hit?.kind ?? statement.kind]}${on(hit?.relation ?? target(statement))}${hit?.flag ? ` ${FLAG_WORDS[hit.flag]}` : ''}`);
}

/** A rule without a configured reason: `<what> needs approval (rule NAME)`; SQL statements and HTTP requests say `what` their own way. */
export function effectReason(rule: Pick<CompiledRule, 'effect' | 'name'>, what: string): string {
  switch (rule.effect) {
    case 'allow':
      return `${what} is allowed (rule ${rule.name})`;
    case 'approve':
      return `${what} needs approval (rule ${rule.name})`;
    case 'deny':
      // Shown as `denied by rule NAME: <what>` (denialMessage).
      return what;
    default:
      return assertNever(rule.effect, 'effect');
  }
}

/** `no policy rule allows delete (flag no_where) on prod-db`. */
export function defaultReason(statement: StatementClass, resource: string): string {
  const operations = unique(statement.operations).join('+') || statement.kind;
  const flags = statement.flags.length > 0 ? ` (${statement.flags.length > 1 ? 'flags' : 'flag'} ${statement.flags.join(', ')})` : '';
  return `no policy rule allows ${operations}${flags} on ${resource}`;
}

/** A statement's text on one line, shortened: the prefix of a message's trace lines. */
export function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > EXCERPT_LENGTH ? `${line.slice(0, EXCERPT_LENGTH - 1).trimEnd()}…` : line;
}

export function whoWhy(rule: CompiledRule, caller: Caller, resource: string): string {
  if (rule.groups) return `groups ${matchingGroup(rule, caller) ?? '?'}`;
  if (rule.subjects) return `subject ${caller.subject}`;
  if (rule.claims) return `claims ${rule.claims.map(([name]) => `${name}=${String(caller.claims[name])}`).join(', ')}`;
  if (rule.resources) return `resource ${resource}`;
  return 'every statement';
}

/** The relation a statement is mostly about: its first write, else its first read. */
function target(statement: StatementClass): string | undefined {
  return statement.writes[0] ?? statement.reads[0];
}

function relationList(statement: StatementClass): string | undefined {
  const relations = unique([...statement.writes, ...statement.reads]);
  if (relations.length === 0) return undefined;
  const shown = relations.slice(0, MAX_LISTED_RELATIONS).join(', ');
  return relations.length > MAX_LISTED_RELATIONS ? `${shown} +${relations.length - MAX_LISTED_RELATIONS} more` : shown;
}

function on(relation: string | undefined): string {
  return relation ? ` on ${relation}` : '';
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
