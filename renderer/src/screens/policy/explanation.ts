import type { Decision, Effect, TraceStep } from '../../../../proxy/api/api-contract.js';

// What `policy.explain` answers, as the screen reads it. The API types the answer `unknown` (policy
// builds it), so it is read here field by field into the contract's Decision, with each statement's
// class flattened beside its decision; anything missing or of another shape reads as absent
// instead of breaking the screen.

export type { Decision, Effect, TraceStep };

export interface ExplainedStatement {
  readonly text: string;
  readonly kind: string;
  readonly operations: readonly string[];
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  readonly functions: readonly string[];
  readonly flags: readonly string[];
  readonly prepares?: { readonly name: string; readonly operations: readonly string[] };
  readonly executes?: string;
  readonly decision: Decision;
}

export interface Explanation {
  /** Empty when the SQL does not parse (the decision then says why). */
  readonly statements: readonly ExplainedStatement[];
  /** The decision for the whole message, as the gateway makes it. */
  readonly decision: Decision;
}

/** Rule names Sluice uses for its own decisions (proxy/policy/gateway-decisions.ts). */
export const GATEWAY_RULES = {
  default: 'default',
  parser: 'parser',
  unknownPrepared: 'unknown-prepared',
  empty: 'empty',
} as const;

const EFFECTS: readonly string[] = ['allow', 'approve', 'deny'];

/** The explanation in `value`, or undefined when it is not one (then the screen says so). */
export function readExplanation(value: unknown): Explanation | undefined {
  const root = record(value);
  const decision = readDecision(root?.decision);
  if (!root || !decision || !Array.isArray(root.statements)) return undefined;
  const statements: ExplainedStatement[] = [];
  for (const item of root.statements) {
    const entry = record(item);
    const cls = record(entry?.class);
    const statementDecision = readDecision(entry?.decision);
    if (!cls || !statementDecision) return undefined;
    const prepares = record(cls.prepares);
    const prepared = record(prepares?.statement);
    statements.push({
      text: text(cls.text),
      kind: text(cls.kind),
      operations: texts(cls.operations),
      reads: texts(cls.reads),
      writes: texts(cls.writes),
      functions: texts(cls.functions),
      flags: texts(cls.flags),
      ...(prepares && { prepares: { name: text(prepares.name), operations: texts(prepared?.operations) } }),
      ...(typeof cls.executes === 'string' && { executes: cls.executes }),
      decision: statementDecision,
    });
  }
  return { statements, decision };
}

function readDecision(value: unknown): Decision | undefined {
  const d = record(value);
  if (!d || !isEffect(d.effect) || typeof d.rule !== 'string') return undefined;
  const trace: TraceStep[] = [];
  for (const item of Array.isArray(d.trace) ? d.trace : []) {
    const step = record(item);
    if (step && isEffect(step.effect) && typeof step.rule === 'string') trace.push({ rule: step.rule, effect: step.effect, why: text(step.why) });
  }
  return {
    effect: d.effect,
    rule: d.rule,
    reason: text(d.reason),
    trace,
    ...(typeof d.sessionGrantMs === 'number' && { sessionGrantMs: d.sessionGrantMs }),
  };
}

function isEffect(value: unknown): value is Effect {
  return typeof value === 'string' && EFFECTS.includes(value);
}

function record(value: unknown): Readonly<Record<string, unknown>> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function texts(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
