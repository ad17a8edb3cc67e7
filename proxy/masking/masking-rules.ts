import type { MaskingRuleConfig } from '../config/schema.js';
import { compileMatcher, type Matcher } from '../policy/glob.js';
import type { ColumnOrigin, SourceColumn } from './catalog-types.js';
import { compileCustomPattern } from './custom-pattern.js';
import { builtinDetector } from './detector-registry.js';
import { parseJsonPath } from './json-path.js';
import { JsonPathRules, type JsonPathAction } from './json-path-rules.js';
import type { ColumnAction, ContentMasker, ContentRule, Detector, MaskingStrategy, StrategySpec } from './masking-types.js';
import { applyStrategy } from './strategies.js';
import { TextMasker } from './text-masker.js';

/** The masking rules that apply to one caller, compiled: what the relay and the recorder use. */
export interface MaskingProfile {
  /** No rule applies to this caller: results pass untouched. */
  readonly empty: boolean;
  /** Content rules (`detect`, `pattern`), for result cells and for what the audit store and approvers see. */
  readonly content: ContentMasker;
  /** True when some column rule applies: results must be resolved to their source columns. */
  readonly hasColumnRules: boolean;
  /** The column rule for a result column with this origin, when one applies. */
  columnAction(origin: ColumnOrigin): ColumnAction | undefined;
  /** The applying column rules by name: what a statement computing from one of their columns gets. */
  readonly derived: ReadonlyMap<string, ColumnAction>;
  /**
   * Identifiers the applying column rules name (lower case): a column part without a glob, and
   * the table part of `schema.table.*`. Code the SQL parser cannot read (PL/pgSQL bodies, DO
   * blocks) is checked against them.
   */
  readonly ruleIdentifiers: ReadonlyMap<string, string>;
  /**
   * The applying `json_paths` rules (JSON bodies on the HTTP gateway), or undefined when none
   * applies. They do not count toward `empty`, which says whether PostgreSQL results need masking.
   */
  readonly jsonPaths?: JsonPathRules;
}

interface CompiledColumnRule {
  readonly name: string;
  readonly matches: Matcher;
  readonly scoped: boolean;
  readonly action: ColumnAction;
}

interface CompiledRule {
  readonly config: MaskingRuleConfig;
  readonly column?: CompiledColumnRule;
  readonly content?: ContentRule;
  readonly jsonPath?: { readonly paths: ReturnType<typeof parseJsonPath>[]; readonly action: Omit<JsonPathAction, 'rank'> };
}

const MAX_PROFILES = 1_000;

/** Most restrictive first: when two rules of equal scope cover one column, the earlier here wins. */
const RESTRICTIVENESS: readonly MaskingStrategy[] = ['null', 'redact', 'hash', 'fake', 'partial'];

/**
 * The configured masking rules, compiled once. Profiles are built per set of caller groups and
 * kept, since every session of a CI job's group asks for the same one.
 *
 * Precedence: a rule scoped with `groups` beats an unscoped rule for the same column or content
 * (so "everyone sees redacted, the DBA group sees partial" is two rules); among rules of equal
 * scope the most restrictive strategy wins (null, redact, hash, fake, partial). A result column
 * read from several masked sources (a view's expression) takes the most restrictive of their rules.
 */
export class MaskingRules {
  readonly #rules: readonly CompiledRule[];
  readonly #profiles = new Map<string, MaskingProfile>();

  constructor(
    rules: readonly MaskingRuleConfig[],
    private readonly key: Buffer,
  ) {
    this.#rules = rules.map((rule) => compileRule(rule, key));
  }

  profileFor(groups: readonly string[]): MaskingProfile {
    const cacheKey = [...groups].sort().join('\n');
    let profile = this.#profiles.get(cacheKey);
    if (!profile) {
      profile = this.#profile(new Set(groups));
      // Groups from OIDC claim templates (repo:{repository}) vary without bound: keep the cache bounded.
      if (this.#profiles.size >= MAX_PROFILES) this.#profiles.clear();
      this.#profiles.set(cacheKey, profile);
    }
    return profile;
  }

  #profile(groups: ReadonlySet<string>): MaskingProfile {
    const applying = this.#rules.filter(({ config }) => appliesTo(config, groups));
    // Scoped rules first, so they win ties in the text masker and in column resolution.
    const ordered = [...applying.filter((rule) => rule.config.groups), ...applying.filter((rule) => !rule.config.groups)];
    const content = new TextMasker(ordered.flatMap((rule) => (rule.content ? [rule.content] : [])), this.key);
    const jsonRules = ordered.flatMap(({ config, jsonPath }) =>
      jsonPath ? [{ paths: jsonPath.paths, action: { ...jsonPath.action, rank: (config.groups ? 0 : RESTRICTIVENESS.length) + RESTRICTIVENESS.indexOf(config.strategy) } }] : [],
    );
    const columnRules = ordered.flatMap((rule) => (rule.column ? [rule.column] : []));
    const bySource = new Map<string, ColumnAction | null>();
    const forSource = (source: SourceColumn): ColumnAction | undefined => {
      const name = `${source.schema}.${source.table}.${source.column}`;
      let action = bySource.get(name);
      if (action === undefined) {
        action = strictest(columnRules.filter((rule) => rule.matches(name))) ?? null;
        bySource.set(name, action);
      }
      return action ?? undefined;
    };
    return {
      empty: applying.every((rule) => rule.jsonPath !== undefined),
      ...(jsonRules.length > 0 ? { jsonPaths: new JsonPathRules(jsonRules) } : {}),
      content,
      hasColumnRules: columnRules.length > 0,
      derived: new Map(columnRules.map((rule) => [rule.name, rule.action])),
      // Reversed so the first rule (scoped first) naming an identifier is the one reported.
      ruleIdentifiers: new Map(ordered.flatMap((rule) => (rule.config.columns ? rule.config.columns.flatMap(identifiersOf).map((id) => [id, rule.config.name] as const) : [])).reverse()),
      columnAction(origin) {
        let chosen: ColumnAction | undefined;
        for (const source of origin.sources) {
          const action = forSource(source);
          if (action && (!chosen || rank(action) < rank(chosen))) chosen = action;
        }
        return chosen;
      },
    };
  }
}

function compileRule(config: MaskingRuleConfig, key: Buffer): CompiledRule {
  const spec: StrategySpec = {
    strategy: config.strategy,
    ...(config.replacement !== undefined ? { replacement: config.replacement } : {}),
    ...(config.keep_last !== undefined ? { keepLast: config.keep_last } : {}),
  };
  // Partial and fake keep a value's shape: an email its domain, a card its last digits.
  const shaped = config.strategy === 'partial' || config.strategy === 'fake';
  if (config.json_paths) {
    return {
      config,
      jsonPath: {
        paths: config.json_paths.map(parseJsonPath),
        action: { rule: config.name, strategy: config.strategy, apply: (value) => applyStrategy(value, spec, key, shaped ? shapeKind(value) : undefined) },
      },
    };
  }
  if (config.columns) {
    return {
      config,
      column: {
        name: config.name,
        // Case-insensitive, as policy relations are: `public.Users.ssn` must still catch `public.users.ssn`.
        matches: compileMatcher(config.columns, { ignoreCase: true }),
        scoped: config.groups !== undefined,
        action: { rule: config.name, strategy: config.strategy, nulls: config.strategy === 'null', derived: config.derived ?? 'deny', apply: (value) => applyStrategy(value, spec, key, shaped ? shapeKind(value) : undefined) },
      },
    };
  }
  const detectors: Detector[] = [];
  const names = config.detect === undefined ? [] : Array.isArray(config.detect) ? config.detect : [config.detect];
  for (const name of names) detectors.push(builtinDetector(name));
  if (config.pattern !== undefined) detectors.push(compileCustomPattern(config.pattern));
  return { config, content: { rule: config.name, detectors, spec } };
}

const EMAIL_SHAPE = /^[^@\s"\\]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$/;
const SSN_SHAPE = /^\d{3}[- ]\d{2}[- ]\d{4}$/;
const IBAN_SHAPE = /^[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}$/;
const NUMBER_SHAPE = /^\+?[\d().\- ]+$/;

/**
 * The shape a whole column value has, so partial and fake keep it: an email its domain, a card,
 * phone, IBAN or SSN its separators and last digits (and a fake card its Luhn digit). The column
 * rule already says the value is sensitive, so this only picks a form; it runs for every masked
 * cell of such a column, hence shapes rather than the validating detectors.
 */
function shapeKind(value: string): string | undefined {
  const trimmed = value.length > 64 ? '' : value.trim();
  if (trimmed.includes('@')) return EMAIL_SHAPE.test(trimmed) ? 'email' : undefined;
  if (SSN_SHAPE.test(trimmed)) return 'ssn';
  if (IBAN_SHAPE.test(trimmed)) return 'iban';
  if (!NUMBER_SHAPE.test(trimmed)) return undefined;
  let digits = 0;
  for (let i = 0; i < trimmed.length; i++) if (trimmed.charCodeAt(i) >= 48 && trimmed.charCodeAt(i) <= 57) digits++;
  if (digits >= 13 && digits <= 19 && !trimmed.startsWith('+')) return 'card';
  return digits >= 7 ? 'phone' : undefined;
}

/** `public.users.ssn` -> ssn; `billing.*.card_number` -> card_number; `public.secrets.*` -> secrets. */
function identifiersOf(pattern: string): string[] {
  const [, table, column] = pattern.toLowerCase().split('.');
  if (column !== undefined && !column.includes('*')) return [column];
  return table !== undefined && !table.includes('*') ? [table] : [];
}

function appliesTo(rule: MaskingRuleConfig, groups: ReadonlySet<string>): boolean {
  if (rule.groups && !rule.groups.some((group) => groups.has(group))) return false;
  if (rule.except_groups?.some((group) => groups.has(group))) return false;
  return true;
}

/** The winning rule among those covering one column: scoped beats unscoped, then the most restrictive. */
function strictest(rules: readonly CompiledColumnRule[]): ColumnAction | undefined {
  const scoped = rules.filter((rule) => rule.scoped);
  const candidates = scoped.length > 0 ? scoped : rules;
  let best: CompiledColumnRule | undefined;
  for (const rule of candidates) if (!best || rank(rule.action) < rank(best.action)) best = rule;
  return best?.action;
}

function rank(action: ColumnAction): number {
  return RESTRICTIVENESS.indexOf(action.strategy);
}
