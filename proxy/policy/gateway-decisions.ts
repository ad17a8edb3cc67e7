import type { Decision } from './decision.js';

// Decisions Sluice makes itself rather than a configured rule: the default deny, and failing
// closed on what it cannot classify. Their rule names are reserved so a trace is never ambiguous.

export const GATEWAY_RULES = {
  /** Nothing matched: default deny. */
  default: 'default',
  /** The parser refused the statement. */
  parser: 'parser',
  /** EXECUTE of a prepared statement whose PREPARE Sluice did not see. */
  unknownPrepared: 'unknown-prepared',
  /** A message with no statement at all (drivers send one as a connection check). */
  empty: 'empty',
  /** The masking guard: a statement would carry masked values where result masking cannot follow them. */
  masking: 'masking',
  /** The audit store cannot record: statements are refused until it can. */
  auditStore: 'audit-store',
} as const;

/** Names config refuses for rules, because gateway decisions use them. */
export const RESERVED_RULE_NAMES: readonly string[] = Object.values(GATEWAY_RULES);

const reserved = new Set(RESERVED_RULE_NAMES);

/** A deny made by the gateway (not by a configured rule). */
export function denied(rule: string, reason: string, why: string = reason): Decision {
  return { effect: 'deny', rule, reason, trace: [{ rule, effect: 'deny', why }] };
}

/** Fail closed: what does not parse cannot be checked, so it does not run. */
export function unparsableDecision(parserMessage: string): Decision {
  return denied(GATEWAY_RULES.parser, `the statement does not parse: ${parserMessage}`, 'the parser refused the statement');
}

/** Fail closed: an EXECUTE whose PREPARE Sluice never classified could run anything. */
export function unknownPreparedDecision(name: string): Decision {
  return denied(
    GATEWAY_RULES.unknownPrepared,
    `prepared statement "${name}" was not prepared through Sluice in this session, so what it runs is unknown; PREPARE it again`,
    `EXECUTE of unknown prepared statement ${name}`,
  );
}

/** The allow Sluice gives a message with no statements: it runs nothing. */
export function emptyMessageDecision(): Decision {
  const reason = 'the message holds no statement';
  return { effect: 'allow', rule: GATEWAY_RULES.empty, reason, trace: [{ rule: GATEWAY_RULES.empty, effect: 'allow', why: reason }] };
}

/**
 * The error text a client sees for a deny: `denied by rule ci-no-ddl: DDL on public.users`
 * for a configured rule (its reason, or what it denied), `denied: <reason>` for the gateway's own.
 */
export function denialMessage(decision: Decision): string {
  return reserved.has(decision.rule) ? `denied: ${decision.reason}` : `denied by rule ${decision.rule}: ${decision.reason}`;
}
