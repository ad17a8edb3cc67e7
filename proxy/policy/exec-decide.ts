import type { PolicyRuleConfig } from '../config/schema.js';
import { effectReason, whoWhy } from './decision-text.js';
import type { Decision, PolicyRequest } from './decision.js';
import { argsMatch, compileArgsPattern, type ArgsPattern, type ExecCommandClass } from './exec-command.js';
import { decisionFromMatches } from './decision-from-matches.js';
import { denied, GATEWAY_RULES } from './gateway-decisions.js';
import { appliesToCaller, type Caller, type CompiledRule } from './rule-match.js';

// decideExec: the policy's answer for one command on an exec resource, with the semantics of
// decide() for SQL and decideHttp for requests: default deny, the most restrictive match wins
// (deny > approve > allow, the first in the file among equals). A rule's `args` patterns
// (exec-command.ts) must match the caller's arguments as a whole: allow rules exactly, deny and
// approve rules case-insensitively (a deny for `delete` must not miss `DELETE`). A rule without
// `args` matches every command of the resources it names. Rules with SQL or HTTP dimensions were
// left out of `rules` by the engine: they never match a command.

const MAX_NEAR_MISSES = 3;

export interface CompiledExecMatch {
  readonly patterns: readonly ArgsPattern[];
  /** As configured, for trace lines. */
  readonly sources: readonly string[];
}

export interface ExecPolicyRequest {
  readonly identity: PolicyRequest['identity'];
  readonly resource: string;
  readonly command: ExecCommandClass;
}

/** The rule's `args` compiled, or undefined when it lists none. */
export function compileExecMatch(rule: PolicyRuleConfig): CompiledExecMatch | undefined {
  const args = rule.match.args;
  if (args === undefined) return undefined;
  const ignoreCase = rule.effect !== 'allow';
  return { patterns: args.map((pattern) => compileArgsPattern(pattern, { ignoreCase })), sources: args };
}

/** The decision for one command, given the rules that can apply to its resource (undefined: no such exec resource). */
export function decideExecCommand(rules: readonly CompiledRule[] | undefined, { identity, resource, command }: ExecPolicyRequest): Decision {
  if (!rules) return denied(GATEWAY_RULES.default, `no exec resource named "${resource}" is configured`, `unknown resource ${resource}`);
  let matches: { rule: CompiledRule; pattern?: string }[] | undefined;
  for (const rule of rules) {
    if (!appliesToCaller(rule, identity)) continue;
    const pattern = matchingPattern(rule.exec, command);
    if (pattern !== null) (matches ??= []).push({ rule, ...(pattern !== undefined && { pattern }) });
  }
  if (!matches) return defaultDeny(rules, identity, resource, command);
  return decisionFromMatches(matches, {
    reason: ({ rule }) => effectReason(rule, `command ${command.text}`),
    why: (match) => (match.pattern !== undefined ? `args ${match.pattern}` : who(match.rule, identity, resource)),
  });
}

/** The pattern (as configured) the arguments match; undefined for a rule without `args`; null when none matches. */
function matchingPattern(match: CompiledExecMatch | undefined, command: ExecCommandClass): string | undefined | null {
  if (!match) return undefined;
  const index = match.patterns.findIndex((pattern) => argsMatch(pattern, command.args));
  return index === -1 ? null : match.sources[index]!;
}

function defaultDeny(rules: readonly CompiledRule[], identity: Caller, resource: string, command: ExecCommandClass): Decision {
  const misses: string[] = [];
  for (const rule of rules) {
    if (rule.effect !== 'allow' || !appliesToCaller(rule, identity)) continue;
    if (misses.length === MAX_NEAR_MISSES) {
      misses.push('…');
      break;
    }
    misses.push(`${rule.name} does not cover these arguments (args ${rule.exec?.sources.join(', ') ?? 'none'})`);
  }
  return denied(GATEWAY_RULES.default, `no policy rule allows ${command.text} on ${resource}`, misses.length > 0 ? `no rule matched; ${misses.join('; ')}` : 'no rule matched');
}

function who(rule: CompiledRule, caller: Caller, resource: string): string {
  const words = whoWhy(rule, caller, resource);
  return words === 'every statement' ? 'every command' : words;
}
