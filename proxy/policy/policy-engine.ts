import type { Config, ResourceConfig } from '../config/schema.js';
import type { StatementClass } from '../sql/statement-class.js';
import { allowWhy, defaultReason, excerpt, generatedReason, restrictiveWhy } from './decision-text.js';
import { decisionFromMatches, EFFECT_RANK } from './decision-from-matches.js';
import type { Decision, PolicyRequest, TraceStep } from './decision.js';
import { denied, emptyMessageDecision, GATEWAY_RULES, unknownPreparedDecision } from './gateway-decisions.js';
import { decideExecCommand, type ExecPolicyRequest } from './exec-decide.js';
import { decideHttpRequest, httpRequestWantsFields, type HttpPolicyRequest } from './http-decide.js';
import type { HttpRequestClass } from './http-request.js';
import { appliesToCaller, appliesToResource, compileRule, restrictiveHit, uncovered, type Caller, type CompiledRule, type Hit } from './rule-match.js';

/*
 * Policy semantics (README, "Policy", says the same for operators):
 *
 * - Default deny: a statement no rule matches is denied (rule `default`).
 * - Most restrictive match wins: deny > approve > allow; among equals, the first in the file.
 *   The decision carries the winner's rule and reason; the trace lists every match, most
 *   restrictive first.
 * - Who (every rule): `groups` any of (an entry with `{claim}` placeholders names the group
 *   the caller's own claims give), `subjects` any of (globs), `claims` all of (each claim
 *   stringified must match one of its values or globs), `resources` any of (or `*`).
 * - What differs by effect, so that anything a rule did not foresee fails closed:
 *   deny and approve rules match when the statement hits ANY listed kind (among all its
 *   operations, CTEs included), ANY listed relation (read or written) and ANY listed flag; an
 *   unlisted dimension matches anything. Allow rules cover a statement only when ALL its
 *   operations are listed kinds, ALL the relations it touches match listed relations, and ALL
 *   its flags are listed flags. An allow rule without `flags` covers no flagged statement:
 *   `SELECT my_fn()` (unknown_function), `DELETE FROM t` (no_where) and a SELECT with a DELETE
 *   in a WITH clause (operations select + delete) all fall through to the default deny unless a
 *   rule says otherwise.
 * - Relations in deny/approve rules compare case-insensitively (a deny must not miss); in
 *   allow rules exactly.
 * - An EXECUTE of a prepared statement Sluice did not classify, and an unknown resource, are
 *   denied.
 *
 * decide() runs for every statement: rules are compiled once (Sets, one RegExp per glob list)
 * and grouped by resource here, and only matching rules allocate (their trace line).
 */

const MAX_NEAR_MISSES = 3;

interface Match {
  readonly rule: CompiledRule;
  /** For deny/approve rules: what they hit. */
  readonly hit?: Hit;
}

export class PolicyEngine {
  readonly #resources: ReadonlyMap<string, ResourceConfig>;
  /** Per configured resource, the rules that can apply to its SQL statements, in file order. */
  readonly #rulesByResource: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Per http resource, the rules that can apply to its requests (none listing SQL dimensions), in file order. */
  readonly #httpRulesByResource: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Per exec resource, the rules that can apply to its commands (none listing SQL or HTTP dimensions), in file order. */
  readonly #execRulesByResource: ReadonlyMap<string, readonly CompiledRule[]>;

  constructor(config: Pick<Config, 'policy' | 'resources'>) {
    const rules = config.policy.map(compileRule);
    this.#resources = new Map(config.resources.map((resource) => [resource.name, resource]));
    // A rule with HTTP dimensions never matches a statement, nor one with SQL dimensions a request.
    // Nor one with `args` (exec) a statement or a request, nor one with SQL or HTTP dimensions a command.
    const sqlRules = rules.filter((rule) => rule.http === undefined && rule.exec === undefined);
    const httpRules = rules.filter((rule) => !rule.sql && rule.exec === undefined);
    const execRules = rules.filter((rule) => !rule.sql && rule.http === undefined);
    this.#rulesByResource = new Map(config.resources.map((resource) => [resource.name, sqlRules.filter((rule) => appliesToResource(rule, resource.name))]));
    this.#httpRulesByResource = new Map(
      config.resources.filter((resource) => resource.type === 'http').map((resource) => [resource.name, httpRules.filter((rule) => appliesToResource(rule, resource.name))]),
    );
    this.#execRulesByResource = new Map(
      config.resources.filter((resource) => resource.type === 'exec').map((resource) => [resource.name, execRules.filter((rule) => appliesToResource(rule, resource.name))]),
    );
  }

  /** The decision for one statement. */
  decide(request: PolicyRequest): Decision {
    const { identity, resource, statement } = request;
    if (statement.executes !== undefined) return unknownPreparedDecision(statement.executes);
    const rules = this.#rulesByResource.get(resource);
    if (!rules) return denied(GATEWAY_RULES.default, `no resource named "${resource}" is configured`, `unknown resource ${resource}`);

    let matches: Match[] | undefined;
    for (const rule of rules) {
      if (!appliesToCaller(rule, identity)) continue;
      if (rule.restrictive) {
        const hit = restrictiveHit(rule, statement);
        if (hit) (matches ??= []).push({ rule, hit });
      } else if (uncovered(rule, statement) === undefined) {
        (matches ??= []).push({ rule });
      }
    }
    if (!matches) return this.#defaultDeny(rules, identity, resource, statement);

    return decisionFromMatches(matches, {
      reason: ({ rule, hit }) => generatedReason(rule, hit, statement),
      why: (match) => (match.hit ? restrictiveWhy(match.rule, match.hit, statement, identity, resource) : allowWhy(match.rule, statement, identity, resource)),
    });
  }

  /**
   * The decision for a message of several statements: the most restrictive statement's (the
   * first among equals). Its trace has each statement's deciding step, prefixed with the
   * statement's text, most restrictive first. A single statement gets its own full decision.
   */
  decideMessage(identity: Caller, resource: string, statements: readonly StatementClass[]): Decision {
    if (statements.length === 0) return emptyMessageDecision();
    if (statements.length === 1) return this.decide({ identity, resource, statement: statements[0]! });
    const decisions = statements.map((statement) => this.decide({ identity, resource, statement }));
    let winner = decisions[0]!;
    for (const decision of decisions) if (EFFECT_RANK[decision.effect] < EFFECT_RANK[winner.effect]) winner = decision;
    const trace: TraceStep[] = decisions.map((decision, index) => ({
      rule: decision.rule,
      effect: decision.effect,
      why: `${excerpt(statements[index]!.text)}: ${decision.trace[0]?.why ?? decision.reason}`,
    }));
    trace.sort((a, b) => EFFECT_RANK[a.effect] - EFFECT_RANK[b.effect]);
    const sessionGrantMs = winner.effect === 'approve' ? messageGrant(decisions) : undefined;
    return { effect: winner.effect, rule: winner.rule, reason: winner.reason, trace, ...(sessionGrantMs !== undefined ? { sessionGrantMs } : {}) };
  }

  /** The decision for one HTTP request to an http resource (see http-decide.ts). */
  decideHttp(request: HttpPolicyRequest): Decision {
    return decideHttpRequest(this.#httpRulesByResource.get(request.resource), request);
  }

  /** The decision for one command on an exec resource (see exec-decide.ts). */
  decideExec(request: ExecPolicyRequest): Decision {
    return decideExecCommand(this.#execRulesByResource.get(request.resource), request);
  }

  /** Whether deciding this request needs its body's fields (a rule for the caller names fields and matches its method and path). */
  httpWantsFields(identity: Caller, resource: string, request: HttpRequestClass): boolean {
    return httpRequestWantsFields(this.#httpRulesByResource.get(resource), identity, request);
  }

  /**
   * The resources a caller may open at all: those some allow or approve rule could match for it.
   * Whether each statement runs is decide()'s answer; this keeps a caller with no rule for a
   * resource from connecting to it (and from learning it exists).
   */
  resourcesFor(identity: Caller): string[] {
    const names: string[] = [];
    for (const [name, sqlRules] of this.#rulesByResource) {
      const rules = this.#httpRulesByResource.get(name) ?? this.#execRulesByResource.get(name) ?? sqlRules;
      if (rules.some((rule) => rule.effect !== 'deny' && appliesToCaller(rule, identity))) names.push(name);
    }
    return names;
  }

  /** A configured resource by name. */
  resource(name: string): ResourceConfig | undefined {
    return this.#resources.get(name);
  }

  /** The default deny; its trace names allow rules that applied to the caller but did not cover the statement. */
  #defaultDeny(rules: readonly CompiledRule[], identity: Caller, resource: string, statement: StatementClass): Decision {
    const misses: string[] = [];
    for (const rule of rules) {
      if (rule.restrictive || !appliesToCaller(rule, identity)) continue;
      if (misses.length === MAX_NEAR_MISSES) {
        misses.push('…');
        break;
      }
      misses.push(`${rule.name} does not cover ${uncovered(rule, statement) ?? 'it'}`);
    }
    return denied(GATEWAY_RULES.default, defaultReason(statement, resource), misses.length > 0 ? `no rule matched; ${misses.join('; ')}` : 'no rule matched');
  }
}

/** An approval can be granted for the session only as long as every statement that needs one allows. */
function messageGrant(decisions: readonly Decision[]): number | undefined {
  let grant: number | undefined;
  for (const decision of decisions) {
    if (decision.effect !== 'approve') continue;
    if (decision.sessionGrantMs === undefined) return undefined;
    grant = Math.min(grant ?? Infinity, decision.sessionGrantMs);
  }
  return grant;
}
