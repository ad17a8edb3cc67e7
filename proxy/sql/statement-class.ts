import type { StatementKind } from '../common/statement-kinds.js';

/**
 * What a statement does, as policy sees it. Flags name what makes an otherwise ordinary
 * statement risky; an allow rule covers a flagged statement only when it lists the flag.
 */
export const STATEMENT_FLAGS = [
  /** UPDATE or DELETE without WHERE (every row). */
  'no_where',
  /** INSERT/UPDATE/DELETE/MERGE inside a WITH clause. */
  'cte_write',
  /** SELECT ... INTO (creates a table). */
  'select_into',
  /** COPY ... PROGRAM (runs a shell command on the database host). */
  'copy_program',
  /** A call to a function on the configured dangerous list (pg_read_file, dblink*, ...). */
  'dangerous_function',
  /** A call to a function that is not a known read-only built-in: user-defined or volatile; it may write. */
  'unknown_function',
  /** SET ROLE / SET SESSION AUTHORIZATION / RESET ROLE. */
  'set_role',
  /** EXPLAIN ANALYZE: the explained statement really runs (its kind is that statement's). */
  'explain_analyze',
  /** A SELECT without WHERE or LIMIT over a table listed in `limits.full_scan_tables` (a bulk export). */
  'full_scan',
] as const;

export type StatementFlag = (typeof STATEMENT_FLAGS)[number];

/** One statement of a (possibly multi-statement) SQL string. */
export interface StatementClass {
  /** This statement's own text, cut from the message at the parser's byte offsets. */
  readonly text: string;
  /** The top-level kind (EXPLAIN ANALYZE X and EXECUTE name take the kind of what they run). */
  readonly kind: StatementKind;
  /**
   * Every kind of operation the statement performs, `kind` first: a SELECT with a DELETE in a CTE
   * is [select, delete]; SELECT INTO is [select, ddl]. Allow rules must cover all of them.
   */
  readonly operations: readonly StatementKind[];
  /** Relations read, schema-qualified (unqualified names resolved with the search_path). */
  readonly reads: readonly string[];
  /** Relations written or altered, schema-qualified. */
  readonly writes: readonly string[];
  /** Functions called, as written (lower-cased; schema-qualified when the SQL qualified them). */
  readonly functions: readonly string[];
  readonly flags: readonly StatementFlag[];
  /** PREPARE name AS ...: the name and what it will run (EXECUTE name is classified by it). */
  readonly prepares?: { readonly name: string; readonly statement: StatementClass };
  /** EXECUTE name whose PREPARE the classifier was not told about: the session must resolve it. */
  readonly executes?: string;
  /** DEALLOCATE name (undefined name: DEALLOCATE ALL). */
  readonly deallocates?: { readonly name?: string };
}

export type Classification =
  | {
      readonly ok: true;
      readonly statements: readonly StatementClass[];
      /**
       * The same object for every text that classified alike apart from its constants (a shape
       * cache hit). Callers may cache what they derive from everything but the text by it;
       * otherwise the Classification object itself is that key (exact-text hits return it again).
       */
      readonly shape?: object;
    }
  /** The parser refused the text: fail closed with its message. */
  | { readonly ok: false; readonly error: string };

/** Session state classification needs. */
export interface ClassifyContext {
  /** The session's search_path as PostgreSQL reports it (ParameterStatus), e.g. `"$user", public`. */
  readonly searchPath: string;
  /** The upstream user (resolves "$user" in the search_path). */
  readonly user: string;
  /** SQL-level prepared statements seen in this session (PREPARE name), for EXECUTE name. */
  readonly prepared?: ReadonlyMap<string, StatementClass>;
}
