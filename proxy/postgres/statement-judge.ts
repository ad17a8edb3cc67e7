import type { Identity } from '../identity/identity.js';
import type { Decision } from '../policy/decision.js';
import { emptyMessageDecision, unknownPreparedDecision, unparsableDecision } from '../policy/gateway-decisions.js';
import { relationNamesFor } from '../sql/search-path.js';
import type { Classification, ClassifyContext, StatementClass } from '../sql/statement-class.js';
import type { FlowVerdict, MaskedFlowGuard } from './masked-flow-guard.js';

/** The engine-wide services a session's statements are judged with. */
export interface Gatekeeping {
  readonly classifier: {
    classify(text: string, context: ClassifyContext): Classification;
    fingerprint(text: string): string;
  };
  readonly policy: {
    decideMessage(identity: Identity, resource: string, statements: readonly StatementClass[]): Decision;
  };
}

/** A SQL string's classification and the decision for it, in one session. */
export interface Judgement {
  readonly text: string;
  readonly decision: Decision;
  /** Empty when the text does not parse. */
  readonly statements: readonly StatementClass[];
  /** It names a relation with a column masked for this caller: quoted values in its errors and notices are redacted. */
  readonly touchesMasked?: boolean;
}

const DEFAULT_SEARCH_PATH = '"$user", public';
const EMPTY = emptyMessageDecision();

/**
 * Judges one session's SQL. The classifier caches parse results engine-wide (by exact text and
 * by shape); decisions depend on the session too (identity, resource), so each session keeps
 * them keyed by the classifier's result identity: a pgbench-style statement with new constants
 * each time costs a normalize and a map lookup, not a policy walk.
 */
export class StatementJudge {
  readonly #decisions = new WeakMap<object, Decision>();
  readonly #prepared = new Map<string, StatementClass>();

  constructor(
    private readonly services: Gatekeeping,
    private readonly identity: Identity,
    private readonly resource: string,
    /** The upstream user ("$user" in the search_path). */
    private readonly user: string,
    /** The session's server parameters, kept current by the relay (search_path on PostgreSQL 18+). */
    private readonly parameters: ReadonlyMap<string, string>,
    /** Masking rules apply to this caller: what would carry masked values past result masking is refused or held. */
    private readonly guard?: MaskedFlowGuard,
  ) {}

  /** A promise when the masking guard must first read the upstream catalog for the statement's relations. */
  judge(text: string): Judgement | Promise<Judgement> {
    const searchPath = this.parameters.get('search_path') ?? DEFAULT_SEARCH_PATH;
    const classification = this.services.classifier.classify(text, { searchPath, user: this.user, prepared: this.#prepared });
    if (!classification.ok) return { text, decision: unparsableDecision(classification.error), statements: [] };
    const { statements } = classification;
    // An empty query runs nothing (the server answers EmptyQueryResponse).
    if (statements.length === 0) return { text, decision: EMPTY, statements };
    const unknown = statements.find((statement) => statement.executes !== undefined);
    if (unknown) return { text, decision: unknownPreparedDecision(unknown.executes!), statements };
    const key = classification.shape ?? classification;
    let decision = this.#decisions.get(key);
    if (!decision) {
      decision = this.services.policy.decideMessage(this.identity, this.resource, statements);
      this.#decisions.set(key, decision);
    }
    const judgement: Judgement = { text, decision, statements };
    // A denied statement never runs, so what it would carry does not matter.
    if (!this.guard || this.guard.idle || decision.effect === 'deny') return judgement;
    const verdict = this.guard.check(text, relationNamesFor(searchPath, this.user), statements);
    return verdict instanceof Promise ? verdict.then((settled) => guarded(judgement, settled)) : guarded(judgement, verdict);
  }

  fingerprint(text: string): string {
    return this.services.classifier.fingerprint(text);
  }

  /** A judged SQL string went upstream: learn the SQL-level PREPARE / DEALLOCATE in it. */
  forwarded(judgement: Judgement): void {
    for (const { prepares, deallocates } of judgement.statements) {
      if (prepares) this.#prepared.set(prepares.name, prepares.statement);
      else if (deallocates?.name === undefined) {
        if (deallocates) this.#prepared.clear();
      } else this.#prepared.delete(deallocates.name);
    }
  }

  /**
   * A protocol-level Parse or Close of a named statement: SQL PREPARE shares PostgreSQL's name
   * space, so `EXECUTE name` no longer runs what a PREPARE of that name said.
   */
  forgetPrepared(name: string): void {
    if (name !== '') this.#prepared.delete(name);
  }
}

/** The policy's judgement with the masking guard's verdict: its deny wins; its hold joins a policy hold. */
function guarded(judgement: Judgement, verdict: FlowVerdict): Judgement {
  const touchesMasked = verdict.touchesMasked;
  const own = verdict.decision;
  const policy = judgement.decision;
  if (!own) return touchesMasked ? { ...judgement, touchesMasked } : judgement;
  if (own.effect === 'deny' || policy.effect === 'allow') return { ...judgement, decision: own, touchesMasked };
  return { ...judgement, decision: { ...policy, reason: `${policy.reason}; ${own.reason}`, trace: [...policy.trace, ...own.trace] }, touchesMasked };
}
