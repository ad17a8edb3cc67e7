import type { Decision, Effect } from './decision.js';
import type { CompiledRule } from './rule-match.js';

// How the rules that matched become a decision, the same for SQL statements, HTTP requests and
// commands: the most restrictive effect wins (deny > approve > allow), the first in the file
// among equals; every match is in the trace, most restrictive first.

export const EFFECT_RANK: Readonly<Record<Effect, number>> = { deny: 0, approve: 1, allow: 2 };

export interface DecisionWords<M> {
  /** The winner's generated reason, used when its rule configures none. */
  readonly reason: (winner: M) => string;
  /** Why one match matched, for its trace line. */
  readonly why: (match: M) => string;
  /** Orders matches of equal effect further (the sort is stable: file order otherwise). */
  readonly tieBreak?: (a: M, b: M) => number;
}

/** The decision from at least one match (sorted in place). */
export function decisionFromMatches<M extends { readonly rule: CompiledRule }>(matches: M[], words: DecisionWords<M>): Decision {
  const { tieBreak } = words;
  matches.sort((a, b) => EFFECT_RANK[a.rule.effect] - EFFECT_RANK[b.rule.effect] || (tieBreak ? tieBreak(a, b) : 0));
  const winner = matches[0]!;
  const { rule } = winner;
  return {
    effect: rule.effect,
    rule: rule.name,
    reason: rule.reason ?? words.reason(winner),
    trace: matches.map((match) => ({ rule: match.rule.name, effect: match.rule.effect, why: words.why(match) })),
    ...(rule.sessionGrantMs !== undefined ? { sessionGrantMs: rule.sessionGrantMs } : {}),
  };
}
