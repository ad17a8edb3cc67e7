import type { Identity } from '../identity/identity.js';
import type { Decision } from '../policy/decision.js';
import { emptyMessageDecision, unknownPreparedDecision, unparsableDecision } from '../policy/gateway-decisions.js';
import type { Classification, ClassifyContext, StatementClass } from '../sql/statement-class.js';

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
}

const DEFAULT_SEARCH_PATH = '"$user", public';
const CACHE_LIMIT = 512;
const EMPTY = emptyMessageDecision();

/**
 * Judges one session's SQL. Decisions depend on the session (identity, resource, search_path,
 * SQL-level prepared statements), so they are cached per session, keyed by the exact text; the
 * classifier below keeps its own engine-wide cache of parse results.
 */
export class StatementJudge {
  readonly #cache = new Map<string, Judgement>();
  readonly #prepared = new Map<string, StatementClass>();
  #searchPath: string | undefined;

  constructor(
    private readonly services: Gatekeeping,
    private readonly identity: Identity,
    private readonly resource: string,
    /** The upstream user ("$user" in the search_path). */
    private readonly user: string,
    /** The session's server parameters, kept current by the relay (search_path on PostgreSQL 18+). */
    private readonly parameters: ReadonlyMap<string, string>,
  ) {}

  judge(text: string): Judgement {
    const searchPath = this.parameters.get('search_path') ?? DEFAULT_SEARCH_PATH;
    if (searchPath !== this.#searchPath) {
      this.#searchPath = searchPath;
      this.#cache.clear();
    }
    const cached = this.#cache.get(text);
    if (cached) return cached;
    const judgement = this.#judge(text, searchPath);
    if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
    this.#cache.set(text, judgement);
    return judgement;
  }

  fingerprint(text: string): string {
    return this.services.classifier.fingerprint(text);
  }

  /** A judged SQL string went upstream: learn the SQL-level PREPARE / DEALLOCATE in it. */
  forwarded(judgement: Judgement): void {
    let changed = false;
    for (const statement of judgement.statements) {
      if (statement.prepares) {
        this.#prepared.set(statement.prepares.name, statement.prepares.statement);
        changed = true;
      } else if (statement.deallocates) {
        if (statement.deallocates.name === undefined) this.#prepared.clear();
        else this.#prepared.delete(statement.deallocates.name);
        changed = true;
      }
    }
    // EXECUTE name is judged by what name means now.
    if (changed) this.#cache.clear();
  }

  /**
   * A protocol-level Parse or Close of a named statement: SQL PREPARE shares PostgreSQL's name
   * space, so `EXECUTE name` no longer runs what a PREPARE of that name said.
   */
  forgetPrepared(name: string): void {
    if (name !== '' && this.#prepared.delete(name)) this.#cache.clear();
  }

  #judge(text: string, searchPath: string): Judgement {
    const classification = this.services.classifier.classify(text, { searchPath, user: this.user, prepared: this.#prepared });
    if (!classification.ok) return { text, decision: unparsableDecision(classification.error), statements: [] };
    // An empty query runs nothing (the server answers EmptyQueryResponse).
    if (classification.statements.length === 0) return { text, decision: EMPTY, statements: [] };
    const unknown = classification.statements.find((statement) => statement.executes !== undefined);
    if (unknown) return { text, decision: unknownPreparedDecision(unknown.executes!), statements: classification.statements };
    return { text, decision: this.services.policy.decideMessage(this.identity, this.resource, classification.statements), statements: classification.statements };
  }
}
