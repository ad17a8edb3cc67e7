import type { StatementClass } from '../sql/statement-class.js';

export type Effect = 'allow' | 'deny' | 'approve';

/** One line of a decision's trace: which rule (or default) said what, and why. */
export interface TraceStep {
  /** Rule name, or `default` for the default deny. */
  readonly rule: string;
  readonly effect: Effect;
  /** Human words: why it matched, e.g. `kind delete on public.users`. */
  readonly why: string;
}

/** The policy's answer for one statement (or, combined, for one message). */
export interface Decision {
  readonly effect: Effect;
  /** The rule that decided (the most restrictive match), or `default`. */
  readonly rule: string;
  /** The deciding rule's configured reason, else a generated one; what the client sees. */
  readonly reason: string;
  /** Every rule that matched, most restrictive first, then the default when nothing did. */
  readonly trace: readonly TraceStep[];
  /** For effect approve: how long an approver may grant this fingerprint for the session (ms), when the rule allows it. */
  readonly sessionGrantMs?: number;
}

/** Who asks, where, for what. Identity is reduced to what rules match on. */
export interface PolicyRequest {
  readonly identity: { readonly subject: string; readonly groups: readonly string[]; readonly claims: Readonly<Record<string, string | number | boolean>> };
  readonly resource: string;
  readonly statement: StatementClass;
}
