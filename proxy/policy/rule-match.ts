import type { StatementKind } from '../common/statement-kinds.js';
import type { PolicyRuleConfig } from '../config/schema.js';
import type { StatementClass, StatementFlag } from '../sql/statement-class.js';
import type { Effect, PolicyRequest } from './decision.js';
import { compileExecMatch, type CompiledExecMatch } from './exec-decide.js';
import { compileMatcher, type Matcher } from './glob.js';
import { compileHttpMatch, hasSqlDimensions, type CompiledHttpMatch } from './http-rule-match.js';

// One policy rule, compiled once: Sets and compiled globs, so matching allocates nothing until a
// rule matches and its trace line is written.

export type Caller = PolicyRequest['identity'];

/** A `match.groups` entry with `{claim}` placeholders, split into literal text and claim names. */
interface GroupTemplate {
  /** Even indexes literal text, odd indexes claim names. */
  readonly parts: readonly string[];
}

export interface CompiledRule {
  readonly name: string;
  readonly effect: Effect;
  /** deny and approve: any listed value is enough. allow: must cover all of the statement. */
  readonly restrictive: boolean;
  readonly reason?: string;
  readonly sessionGrantMs?: number;
  /** undefined: any resource. */
  readonly resources?: ReadonlySet<string>;
  readonly groups?: { readonly literal: ReadonlySet<string>; readonly templates: readonly GroupTemplate[] };
  readonly subjects?: Matcher;
  readonly claims?: readonly (readonly [name: string, matches: Matcher])[];
  readonly kinds?: ReadonlySet<StatementKind>;
  readonly relations?: Matcher;
  readonly flags?: ReadonlySet<StatementFlag>;
  /** HTTP dimensions (methods, paths, fields): a rule listing any never matches a SQL statement. */
  readonly http?: CompiledHttpMatch;
  /** The rule lists SQL dimensions (kinds, relations, flags): it never matches an HTTP request. */
  readonly sql: boolean;
  /** Exec dimensions (args): a rule listing them matches only commands of exec resources. */
  readonly exec?: CompiledExecMatch;
}

/** What a restrictive rule hit, for its trace line and reason. */
export interface Hit {
  readonly kind?: StatementKind;
  readonly relation?: string;
  readonly flag?: StatementFlag;
}

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.]*)\}/;

export function compileRule(rule: PolicyRuleConfig): CompiledRule {
  const { match } = rule;
  const restrictive = rule.effect !== 'allow';
  const groups = match.groups && {
    literal: new Set(match.groups.filter((group) => !PLACEHOLDER.test(group))),
    templates: match.groups.filter((group) => PLACEHOLDER.test(group)).map((group) => ({ parts: group.split(new RegExp(PLACEHOLDER, 'g')) })),
  };
  return {
    name: rule.name,
    effect: rule.effect,
    restrictive,
    reason: rule.reason,
    sessionGrantMs: rule.effect === 'approve' ? rule.session_grant : undefined,
    resources: match.resources && !match.resources.includes('*') ? new Set(match.resources) : undefined,
    groups,
    subjects: match.subjects && compileMatcher(match.subjects),
    claims: match.claims && Object.entries(match.claims).map(([name, values]) => [name, compileMatcher(typeof values === 'string' ? [values] : values)] as const),
    kinds: match.kinds && new Set(match.kinds),
    // A deny for `public.Users` must not miss `public.users`; an allow stays exact.
    relations: match.relations && compileMatcher(match.relations, { ignoreCase: restrictive }),
    flags: match.flags && new Set(match.flags),
    http: compileHttpMatch(rule),
    sql: hasSqlDimensions(rule),
    exec: compileExecMatch(rule),
  };
}

export function appliesToResource(rule: CompiledRule, resource: string): boolean {
  return rule.resources === undefined || rule.resources.has(resource);
}

/** Who: groups (any of), subjects (any of), claims (all of). Unlisted dimensions match anyone. */
export function appliesToCaller(rule: CompiledRule, caller: Caller): boolean {
  if (rule.groups && matchingGroup(rule, caller) === undefined) return false;
  if (rule.subjects && !rule.subjects(caller.subject)) return false;
  if (rule.claims) {
    for (const [name, matches] of rule.claims) {
      const value = Object.hasOwn(caller.claims, name) ? caller.claims[name] : undefined;
      if (value === undefined || !matches(String(value))) return false;
    }
  }
  return true;
}

/** The caller's first group the rule names (a template names the group its claims give). */
export function matchingGroup(rule: CompiledRule, caller: Caller): string | undefined {
  if (!rule.groups) return undefined;
  for (const group of caller.groups) if (rule.groups.literal.has(group)) return group;
  for (const template of rule.groups.templates) {
    const group = expandTemplate(template, caller.claims);
    if (group !== undefined && caller.groups.includes(group)) return group;
  }
  return undefined;
}

/**
 * deny/approve: the statement hits any listed kind (of its operations), any listed relation
 * (read or written), any listed flag; each listed dimension must be hit. Returns what it hit.
 */
export function restrictiveHit(rule: CompiledRule, statement: StatementClass): Hit | undefined {
  let kind: StatementKind | undefined;
  let relation: string | undefined;
  let flag: StatementFlag | undefined;
  if (rule.kinds) {
    kind = statement.operations.find((operation) => rule.kinds!.has(operation));
    if (kind === undefined) return undefined;
  }
  if (rule.relations) {
    relation = statement.writes.find(rule.relations) ?? statement.reads.find(rule.relations);
    if (relation === undefined) return undefined;
  }
  if (rule.flags) {
    flag = statement.flags.find((candidate) => rule.flags!.has(candidate));
    if (flag === undefined) return undefined;
  }
  return { kind, relation, flag };
}

/**
 * What an allow rule leaves uncovered (`kind delete`, `relation public.x`, `flag no_where`), or
 * undefined when it covers every operation, every relation and every flag of the statement.
 * A rule without `flags` covers no flagged statement: that is what makes hidden writes fail closed.
 */
export function uncovered(rule: CompiledRule, statement: StatementClass): string | undefined {
  if (rule.kinds) {
    for (const operation of statement.operations) if (!rule.kinds.has(operation)) return `kind ${operation}`;
  }
  if (rule.relations) {
    for (const relation of statement.writes) if (!rule.relations(relation)) return `relation ${relation}`;
    for (const relation of statement.reads) if (!rule.relations(relation)) return `relation ${relation}`;
  }
  for (const flag of statement.flags) if (!rule.flags?.has(flag)) return `flag ${flag}`;
  return undefined;
}

/** undefined when a placeholder's claim is missing or empty: such a template names no group. */
function expandTemplate(template: GroupTemplate, claims: Caller['claims']): string | undefined {
  let group = '';
  for (let index = 0; index < template.parts.length; index++) {
    const part = template.parts[index]!;
    if (index % 2 === 0) {
      group += part;
      continue;
    }
    const value = Object.hasOwn(claims, part) ? claims[part] : undefined;
    if (value === undefined || value === '') return undefined;
    group += String(value);
  }
  return group;
}
