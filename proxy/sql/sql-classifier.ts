import { createHash } from 'node:crypto';
import { fingerprintSync, normalizeSync } from 'libpg-query';
import type { ClassifyOptions } from './classify.js';
import { analyzeStatement } from './classify.js';
import { DEFAULT_DANGEROUS_FUNCTIONS } from './dangerous-functions.js';
import { DangerousFunctions } from './function-rules.js';
import { compileMatcher } from '../policy/glob.js';
import { LruCache } from './lru-cache.js';
import type { RelationNames } from './search-path.js';
import { relationNamesFor } from './search-path.js';
import type { ParsedStatement } from './sql-parser.js';
import { parseStatements, requireSqlParser, trimStatement } from './sql-parser.js';
import type { Classification, ClassifyContext, StatementClass } from './statement-class.js';

export interface SqlClassifierOptions {
  /** Replaces DEFAULT_DANGEROUS_FUNCTIONS (config `sql.dangerous_functions`). */
  readonly dangerousFunctions?: readonly string[];
  /** Config `limits.full_scan_tables`: a SELECT without WHERE or LIMIT on one is flagged `full_scan`. */
  readonly fullScanTables?: readonly string[];
  /** Entries per cache (exact texts, statement shapes, fingerprints). Default 10,000. */
  readonly cacheSize?: number;
  /** Characters of SQL text per cache, summed over its entries. Default 16 Mi. */
  readonly cacheChars?: number;
}

/** Per-entry overhead counted against `cacheChars`, so many tiny statements are bounded too. */
const ENTRY_CHARS = 256;
/** A kept parse tree (for EXECUTE) weighs about this many times its text. */
const TREE_FACTOR = 16;

interface Entry {
  readonly result: Classification;
  /** Kept when the result depends on the session's prepared statements (EXECUTE): re-walked per call. */
  readonly statements?: readonly ParsedStatement[];
}

/**
 * Classifies SQL strings for policy, engine-wide and synchronously (loadSqlParser() first).
 * Results are cached twice, both keyed with the schema unqualified names resolve to:
 *  - by exact text: a repeated statement costs one map lookup;
 *  - by shape, libpg-query's normalized text (constants replaced by $n, the rest verbatim), for
 *    single statements: pgbench-style traffic, the same statement with new constants each time,
 *    costs a normalize (about half a parse) instead of a parse and a walk. Sound because no
 *    classification reads a constant's value (names, EXPLAIN options and COPY targets are not
 *    constants to the normalizer), and text outside constants is kept, so the statement's own
 *    text is still the trimmed input. Statements that depend on session state (EXECUTE) and
 *    PREPARE (whose inner text holds the constants) are left out of it.
 * Results are frozen: callers share them.
 */
export class SqlClassifier {
  readonly #options: ClassifyOptions;
  readonly #exact: LruCache<string, Entry>;
  readonly #shapes: LruCache<string, StatementClass>;
  readonly #fingerprints: LruCache<string, string>;

  constructor(options: SqlClassifierOptions = {}) {
    const size = options.cacheSize ?? 10_000;
    const chars = options.cacheChars ?? 16 * 1024 * 1024;
    this.#options = {
      dangerousFunctions: new DangerousFunctions(options.dangerousFunctions ?? DEFAULT_DANGEROUS_FUNCTIONS),
      ...(options.fullScanTables?.length ? { fullScanTables: compileMatcher(options.fullScanTables, { ignoreCase: true }) } : {}),
    };
    this.#exact = new LruCache(size, chars);
    this.#shapes = new LruCache(size, chars);
    this.#fingerprints = new LruCache(size, chars);
  }

  classify(text: string, ctx: ClassifyContext): Classification {
    requireSqlParser();
    const names = relationNamesFor(ctx.searchPath, ctx.user);
    // NUL cannot occur in a schema name, so the key is unambiguous.
    const key = `${names.schema}\0${text}`;
    const entry = this.#exact.get(key);
    if (entry !== undefined) return entry.statements === undefined ? entry.result : this.#guarded(() => this.#classifyParsed(entry.statements!, names, ctx).result);
    return this.#guarded(() => this.#miss(text, key, names, ctx));
  }

  /**
   * libpg-query's fingerprint: equal for statements that differ only in constants (approval
   * session grants). Text the parser refuses gets a hash of its exact bytes instead, so it can
   * only ever match itself.
   */
  fingerprint(text: string): string {
    requireSqlParser();
    const cached = this.#fingerprints.get(text);
    if (cached !== undefined) return cached;
    let fingerprint: string;
    try {
      fingerprint = fingerprintSync(text);
    } catch {
      fingerprint = `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`;
    }
    this.#fingerprints.set(text, fingerprint, text.length + ENTRY_CHARS);
    return fingerprint;
  }

  #miss(text: string, key: string, names: RelationNames, ctx: ClassifyContext): Classification {
    const shapeKey = text === '' ? undefined : this.#shapeKey(text, names);
    const shape = shapeKey === undefined ? undefined : this.#shapes.get(shapeKey);
    if (shape !== undefined) return Object.freeze({ ok: true, statements: Object.freeze([Object.freeze({ ...shape, text: trimStatement(text) })]), shape });

    const parsed = parseStatements(text);
    if (!parsed.ok) {
      const result: Classification = Object.freeze({ ok: false, error: parsed.error });
      this.#exact.set(key, { result }, key.length + ENTRY_CHARS);
      return result;
    }
    const { result, usesPrepared } = this.#classifyParsed(parsed.statements, names, ctx);
    // The key and the statements' texts: the result holds the text again.
    const weight = 2 * key.length + ENTRY_CHARS;
    this.#exact.set(key, usesPrepared ? { result, statements: parsed.statements } : { result }, usesPrepared ? TREE_FACTOR * weight : weight);
    const only = result.statements.length === 1 ? result.statements[0] : undefined;
    if (shapeKey !== undefined && only !== undefined && !usesPrepared && only.prepares === undefined && only.text === trimStatement(text)) {
      this.#shapes.set(shapeKey, only, shapeKey.length + only.text.length + ENTRY_CHARS);
    }
    return result;
  }

  #shapeKey(text: string, names: RelationNames): string | undefined {
    try {
      return `${names.schema}\0${normalizeSync(text)}`;
    } catch {
      return undefined; // the parse below reports the error
    }
  }

  /**
   * Classifies a message's statements in order. A PREPARE or DEALLOCATE earlier in the same
   * message changes what a later EXECUTE runs (PostgreSQL runs them in order and stops at the
   * first error), so they are applied to a copy of the session's prepared statements.
   */
  #classifyParsed(
    statements: readonly ParsedStatement[],
    names: RelationNames,
    ctx: ClassifyContext,
  ): { result: Classification & { ok: true }; usesPrepared: boolean } {
    let local = ctx;
    let overlay: Map<string, StatementClass> | undefined;
    let usesPrepared = false;
    const classes = statements.map((parsed) => {
      const analysis = analyzeStatement(parsed.node, parsed.text, names, local, this.#options);
      usesPrepared ||= analysis.usesPrepared;
      const { prepares, deallocates } = analysis.statement;
      if (prepares !== undefined || deallocates !== undefined) {
        overlay ??= new Map(ctx.prepared ?? []);
        if (prepares !== undefined) overlay.set(prepares.name, prepares.statement);
        else if (deallocates?.name === undefined) overlay.clear();
        else overlay.delete(deallocates.name);
        local = { ...ctx, prepared: overlay };
      }
      return freezeClass(analysis.statement);
    });
    return { result: Object.freeze({ ok: true as const, statements: Object.freeze(classes) }), usesPrepared };
  }

  /** Fail closed: a tree too deep to walk, or a shape this code cannot read, does not run. */
  #guarded(classify: () => Classification): Classification {
    try {
      return classify();
    } catch (error) {
      const reason = error instanceof RangeError ? 'the statement is nested too deeply' : error instanceof Error ? error.message : String(error);
      return Object.freeze({ ok: false, error: `Sluice could not classify the statement: ${reason}` });
    }
  }
}

function freezeClass(statement: StatementClass): StatementClass {
  Object.freeze(statement.operations);
  Object.freeze(statement.reads);
  Object.freeze(statement.writes);
  Object.freeze(statement.functions);
  Object.freeze(statement.flags);
  if (statement.prepares !== undefined) {
    freezeClass(statement.prepares.statement);
    Object.freeze(statement.prepares);
  }
  if (statement.deallocates !== undefined) Object.freeze(statement.deallocates);
  return Object.freeze(statement);
}
