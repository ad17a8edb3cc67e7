import { hasSqlDetails, loadModule, parseSync, scanSync } from 'libpg-query';
import type { PgNode } from './parse-tree.js';

/** One statement of a SQL string: its parse tree (`{SelectStmt: {...}}`) and its own text. */
export interface ParsedStatement {
  readonly node: PgNode;
  readonly text: string;
}

export type ParseOutcome =
  | { readonly ok: true; readonly statements: readonly ParsedStatement[] }
  | { readonly ok: false; readonly error: string };

let loading: Promise<void> | undefined;
let loaded = false;

/** Loads PostgreSQL's parser (WASM). Call once at startup; later calls return the same promise. */
export function loadSqlParser(): Promise<void> {
  loading ??= loadModule().then(() => {
    loaded = true;
  });
  return loading;
}

/** Throws unless loadSqlParser() has resolved: the parser's functions are synchronous. */
export function requireSqlParser(): void {
  if (!loaded) throw new Error('The SQL parser is not loaded: await loadSqlParser() once before classifying or parsing SQL.');
}

/**
 * Parses `text` with PostgreSQL's own parser and cuts each statement's text at the parser's
 * offsets (UTF-8 byte offsets; a missing location means 0, a missing length "to the end").
 * Text with only whitespace, comments or semicolons has no statements.
 */
export function parseStatements(text: string): ParseOutcome {
  requireSqlParser();
  if (text === '') return { ok: true, statements: [] };
  let stmts;
  try {
    ({ stmts } = parseSync(text));
  } catch (error) {
    return { ok: false, error: parserMessage(error) };
  }
  if (stmts === undefined || stmts.length === 0) return { ok: true, statements: [] };
  if (stmts.length === 1 && stmts[0]!.stmt_location === undefined && stmts[0]!.stmt_len === undefined) {
    return { ok: true, statements: [{ node: stmts[0]!.stmt as PgNode, text: trimStatement(text) }] };
  }
  // Offsets are bytes; when the text is ASCII they are also string indexes, and no copy is needed.
  const ascii = Buffer.byteLength(text, 'utf8') === text.length;
  const bytes = ascii ? undefined : Buffer.from(text, 'utf8');
  const statements = stmts.map((raw) => {
    const start = raw.stmt_location ?? 0;
    const end = raw.stmt_len === undefined || raw.stmt_len === 0 ? undefined : start + raw.stmt_len;
    const own = bytes === undefined ? text.slice(start, end) : bytes.subarray(start, end).toString('utf8');
    return { node: raw.stmt as PgNode, text: trimStatement(own) };
  });
  return { ok: true, statements };
}

/**
 * The text of the statement a `PREPARE name [(types)] AS statement` prepares: what follows the
 * first AS keyword (names and types cannot contain the keyword; a quoted "as" is an identifier).
 * Found with PostgreSQL's scanner, whose offsets are bytes. Falls back to the whole text.
 */
export function preparedQueryText(text: string): string {
  let tokens;
  try {
    ({ tokens } = scanSync(text));
  } catch {
    return text;
  }
  const as = tokens.find((token) => token.keywordKind !== 0 && token.text.toLowerCase() === 'as');
  if (as === undefined) return text;
  return trimStatement(Buffer.from(text, 'utf8').subarray(as.end).toString('utf8'));
}

/** The parser's message with PostgreSQL's 1-based character position, as psql would show it. */
function parserMessage(error: unknown): string {
  if (hasSqlDetails(error)) {
    const position = error.sqlDetails?.cursorPosition;
    return position === undefined ? error.message : `${error.message} (position ${position + 1})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Strips what surrounds a statement: PostgreSQL's whitespace characters and semicolons. */
export function trimStatement(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isSeparator(text.charCodeAt(start))) start++;
  while (end > start && isSeparator(text.charCodeAt(end - 1))) end--;
  return start === 0 && end === text.length ? text : text.slice(start, end);
}

function isSeparator(code: number): boolean {
  // space, \t \n \v \f \r, and ';'
  return code === 32 || (code >= 9 && code <= 13) || code === 59;
}
