import type { Classification, ClassifyContext, StatementClass } from '../sql/statement-class.js';
import type { Decision } from './decision.js';
import { unparsableDecision } from './gateway-decisions.js';
import type { PolicyEngine } from './policy-engine.js';
import type { Caller } from './rule-match.js';

// What policy would decide for some SQL, statement by statement: `sluice policy explain` and the
// engine API's policy.explain both answer with this.

/** The part of the SQL classifier explaining needs. */
export interface SqlClassifying {
  classify(sql: string, context: ClassifyContext): Classification;
}

export interface ExplainInput {
  readonly identity: Caller;
  readonly resource: string;
  readonly sql: string;
  /** Default: PostgreSQL's default, `"$user", public`. */
  readonly searchPath?: string;
  /** The upstream user "$user" stands for. Default: the user in the resource's upstream URL. */
  readonly user?: string;
}

export interface Explanation {
  /** Empty when the SQL does not parse (the decision then says why). */
  readonly statements: readonly { readonly class: StatementClass; readonly decision: Decision }[];
  /** The decision for the whole message, as the gateway would make it. */
  readonly decision: Decision;
}

export const DEFAULT_SEARCH_PATH = '"$user", public';

export function explainSql(engine: PolicyEngine, classifier: SqlClassifying, input: ExplainInput): Explanation {
  const user = input.user ?? upstreamUser(engine, input.resource);
  const classification = classifier.classify(input.sql, { searchPath: input.searchPath ?? DEFAULT_SEARCH_PATH, user });
  if (!classification.ok) return { statements: [], decision: unparsableDecision(classification.error) };
  const { identity, resource } = input;
  return {
    statements: classification.statements.map((statement) => ({ class: statement, decision: engine.decide({ identity, resource, statement }) })),
    decision: engine.decideMessage(identity, resource, classification.statements),
  };
}

/** The user a postgres resource logs in as upstream ('' when there is none to name). */
export function upstreamUser(engine: PolicyEngine, resource: string): string {
  const config = engine.resource(resource);
  if (config?.type !== 'postgres') return '';
  try {
    return decodeURIComponent(new URL(config.upstream).username);
  } catch {
    return '';
  }
}
