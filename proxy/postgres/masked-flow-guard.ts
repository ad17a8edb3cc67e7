import type { CatalogCache, NamedRelation } from '../masking/catalog-types.js';
import type { MaskingProfile } from '../masking/masking-rules.js';
import { maskedForRecord } from '../masking/record-text.js';
import type { Decision, TraceStep } from '../policy/decision.js';
import { denied, GATEWAY_RULES } from '../policy/gateway-decisions.js';
import { maskedFlows, relationsNamed } from '../sql/masked-flow.js';
import type { MaskedFlow, MaskedRelation, MaskedSchema } from '../sql/masked-flow-types.js';
import type { PgNode } from '../sql/parse-tree.js';
import { asList, asNode, asString, unwrap } from '../sql/parse-tree.js';
import type { RelationNames } from '../sql/search-path.js';
import { LruCache } from '../sql/lru-cache.js';
import { parseStatements } from '../sql/sql-parser.js';
import type { StatementClass } from '../sql/statement-class.js';

/** What the masking guard says about one SQL string. */
export interface FlowVerdict {
  /** Its own decision when it refuses or holds the statement; undefined when it lets it through. */
  readonly decision?: Decision;
  /** Some relation the statement names has a column masked for this caller (errors and notices then get quoted values redacted). */
  readonly touchesMasked: boolean;
}

const CLEAR: FlowVerdict = Object.freeze({ touchesMasked: false });
/** Verdicts kept per session: by exact text, for as long as the catalog answers are trusted. */
const CACHED_TEXTS = 256;
const CACHED_CHARS = 1024 * 1024;
const VERDICT_TTL_MS = 60_000;
const MAX_LISTED_FLOWS = 3;

/**
 * Refuses (or holds) statements that would carry a masked column's value where result masking
 * cannot follow it (see proxy/sql/masked-flow-types.ts), per each column rule's `derived`
 * setting, and binary COPY output, which content detectors cannot read. The statement's
 * relations are looked up in the upstream catalog (cached engine-wide), so the first statement
 * on a table may wait for one catalog round trip.
 */
export class MaskedFlowGuard {
  readonly #verdicts = new LruCache<string, { readonly at: number; readonly verdict: FlowVerdict }>(CACHED_TEXTS, CACHED_CHARS);

  constructor(
    private readonly profile: MaskingProfile,
    private readonly catalog: CatalogCache,
    private readonly resource: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Nothing to guard: no masking rule applies to this caller. */
  get idle(): boolean {
    return this.profile.empty;
  }

  /** `statements`: the classifier's view of `text`, so a caller with content rules only pays for a parse just when it COPYs out. */
  check(text: string, names: RelationNames, statements: readonly StatementClass[]): FlowVerdict | Promise<FlowVerdict> {
    if (this.profile.empty) return CLEAR;
    if (!this.profile.hasColumnRules && !statements.some((statement) => statement.kind === 'copy_out')) return CLEAR;
    const key = `${names.schema}\0${text}`;
    const cached = this.#verdicts.get(key);
    if (cached && this.now() - cached.at < VERDICT_TTL_MS) return cached.verdict;
    const parsed = parseStatements(text);
    // The classifier already refused text that does not parse; nothing of it runs.
    if (!parsed.ok) return CLEAR;
    const nodes = parsed.statements;
    const binary = nodes.find(({ node }) => isBinaryCopyOut(node));
    if (binary) return this.#keep(key, { decision: BINARY_COPY, touchesMasked: false });
    if (!this.profile.hasColumnRules) return this.#keep(key, CLEAR);
    const opaque = nodes.map(({ node }) => uncheckable(node)).find((reason) => reason !== undefined);
    if (opaque) return this.#keep(key, { decision: denied(GATEWAY_RULES.masking, opaque, 'not checkable against masking rules'), touchesMasked: true });
    let relations: string[];
    try {
      relations = [...new Set(nodes.flatMap(({ node, text: own }) => relationsNamed(node, own, names)))];
    } catch (error) {
      return { decision: unreadable(error), touchesMasked: true };
    }
    const known = this.catalog.relationsByName(relations);
    if (known) return this.#keep(key, this.#verdict(nodes, names, known));
    return this.catalog.loadNames(relations).then(
      () => {
        const loaded = this.catalog.relationsByName(relations);
        if (!loaded) return { decision: catalogFailure(`the catalog of resource "${this.resource}" did not answer for ${relations.join(', ')}`), touchesMasked: true };
        return this.#keep(key, this.#verdict(nodes, names, loaded));
      },
      (error: unknown) => ({ decision: catalogFailure((error as Error).message), touchesMasked: true }),
    );
  }

  #keep(key: string, verdict: FlowVerdict): FlowVerdict {
    this.#verdicts.set(key, { at: this.now(), verdict }, key.length);
    return verdict;
  }

  #verdict(nodes: readonly { readonly node: PgNode; readonly text: string }[], names: RelationNames, known: ReadonlyMap<string, NamedRelation | null>): FlowVerdict {
    const relations = new Map<string, MaskedRelation>();
    let touchesMasked = false;
    for (const [name, relation] of known) {
      if (!relation) continue;
      const masked = new Map<string, string>();
      for (const column of relation.columns) {
        const action = this.profile.columnAction(column.origin);
        if (action) masked.set(column.name, action.rule);
      }
      touchesMasked ||= masked.size > 0;
      relations.set(name, { columns: relation.columns.map((column) => column.name), masked });
    }
    const schema: MaskedSchema = { relation: (name) => relations.get(name), ruleIdentifiers: this.profile.ruleIdentifiers };
    let flows: MaskedFlow[];
    try {
      flows = nodes.flatMap(({ node, text }) => maskedFlows(node, text, names, schema));
    } catch (error) {
      return { decision: unreadable(error), touchesMasked: true };
    }
    if (flows.length > 0) touchesMasked = true;
    return { decision: this.#decide(flows), touchesMasked };
  }

  /** The strictest `derived` action among the flows' rules: deny, then approve; detectors lets it run. */
  #decide(flows: readonly MaskedFlow[]): Decision | undefined {
    const actionOf = (flow: MaskedFlow) => this.profile.derived.get(flow.rule)?.derived ?? 'deny';
    const denying = flows.filter((flow) => actionOf(flow) === 'deny');
    const holding = flows.filter((flow) => actionOf(flow) === 'approve');
    const deciding = denying.length > 0 ? denying : holding;
    if (deciding.length === 0) return undefined;
    const effect = denying.length > 0 ? 'deny' : 'approve';
    // Details quote the statement: the caller's own literals go through the content rules too.
    const detail = (flow: MaskedFlow) => maskedForRecord(this.profile.content, flow.detail);
    const trace: TraceStep[] = deciding.map((flow) => ({ rule: GATEWAY_RULES.masking, effect, why: `${detail(flow)} (${flow.column}, masking rule ${flow.rule}, ${ROUTE_WORDS[flow.route]})` }));
    const listed = deciding.slice(0, MAX_LISTED_FLOWS).map((flow) => `${detail(flow)} (masking rule ${flow.rule})`);
    const more = deciding.length > MAX_LISTED_FLOWS ? ` and ${deciding.length - MAX_LISTED_FLOWS} more` : '';
    const what = `the statement carries masked column values where masking cannot follow them: ${listed.join('; ')}${more}`;
    const reason = effect === 'deny' ? `${what}; select the masked columns themselves (they arrive masked) or ask for a rule with \`derived: approve\`` : `${what}; an approver must let it run`;
    return { effect, rule: GATEWAY_RULES.masking, reason, trace };
  }
}

const ROUTE_WORDS: Readonly<Record<MaskedFlow['route'], string>> = {
  expression: 'a computed value',
  set_operation: 'a set operation loses column sources',
  subquery: 'a scalar subquery',
  merged_join: "a FULL JOIN's merged column",
  function_from: 'a function in FROM',
  server_side: 'stored server-side, unmasked',
  copy: 'COPY output is not masked by column',
  function_body: 'a function body or DO block',
  side_effect: 'passed to a function that may keep or send it',
  rename: 'renaming would escape rules that name it',
};

const BINARY_COPY = denied(
  GATEWAY_RULES.masking,
  'binary COPY output is refused while masking rules apply to you: Sluice cannot read binary COPY data to mask it; use FORMAT text or csv',
  'COPY TO in binary format with masking rules in force',
);

function catalogFailure(message: string): Decision {
  return denied(GATEWAY_RULES.masking, `${message}; Sluice cannot check the statement against masking rules, so it does not run`, 'catalog lookup failed');
}

function unreadable(error: unknown): Decision {
  return denied(GATEWAY_RULES.masking, `Sluice could not check the statement against masking rules: ${(error as Error).message}`, 'masking analysis failed');
}

/**
 * Statements whose effect on masked columns the analysis cannot see, refused for callers with
 * column rules: CREATE TABLE AS EXECUTE stores what a prepared statement returns (its text is
 * the session's, not this statement's), and a schema renamed moves every table in it out from
 * under the rules that name it.
 */
function uncheckable(node: PgNode): string | undefined {
  const unwrapped = unwrap(node);
  if (!unwrapped) return undefined;
  const [type, body] = unwrapped;
  if (type === 'CreateTableAsStmt' && asNode(body.query)?.ExecuteStmt !== undefined) {
    return 'CREATE TABLE AS EXECUTE is refused while column masking rules apply to you: Sluice cannot check what the prepared statement stores; write its SELECT in CREATE TABLE AS instead';
  }
  if (type === 'RenameStmt' && body.renameType === 'OBJECT_SCHEMA') {
    return 'renaming a schema is refused while column masking rules apply to you: masking rules name tables by schema, and the rename would move them out from under the rules';
  }
  return undefined;
}

/** COPY ... TO with FORMAT binary (or the old BINARY keyword, which the parser turns into the same option). */
function isBinaryCopyOut(node: PgNode): boolean {
  const unwrapped = unwrap(node);
  if (!unwrapped || unwrapped[0] !== 'CopyStmt' || unwrapped[1].is_from === true) return false;
  return asList(unwrapped[1].options).some((option) => {
    const def = asNode(asNode(option)?.DefElem);
    return def?.defname === 'format' && asString(asNode(asNode(def.arg)?.String)?.sval)?.toLowerCase() === 'binary';
  });
}
