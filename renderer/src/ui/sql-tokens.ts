// A small SQL tokenizer for highlighting only (never for decisions: the gateway decides on the
// real PostgreSQL parse tree). It must never lose a character: joining the tokens gives the
// input back, whatever the input.

export type SqlTokenKind = 'keyword' | 'string' | 'number' | 'comment' | 'identifier' | 'quoted' | 'operator' | 'param' | 'space' | 'other';

export interface SqlToken {
  readonly kind: SqlTokenKind;
  readonly text: string;
}

const KEYWORDS = new Set(
  (
    'select from where and or not insert into values update set delete returning create alter drop table index view ' +
    'materialized truncate grant revoke join left right full inner outer cross on using as group by order having limit ' +
    'offset union all distinct intersect except with recursive case when then else end is null true false in exists ' +
    'between like ilike copy to stdout stdin begin commit rollback savepoint release prepare execute explain analyze ' +
    'do function procedure language returns return if cascade restrict primary key references foreign unique check ' +
    'default constraint column schema database role user vacuum lock merge matched nothing conflict lateral window ' +
    'over partition rows range fetch first next only for share nowait skip locked listen notify call security definer'
  ).split(' '),
);

// Order matters: comments and strings before operators; dollar quotes before parameters.
const PATTERN =
  /(--[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|((?:[eE])?'(?:[^']|'')*'?)|(\$([A-Za-z_][A-Za-z0-9_]*)?\$[\s\S]*?(?:\$\4\$|$))|("(?:[^"]|"")*"?)|(\$\d+)|(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_$]*)|(\s+)|([<>=!~^*/%+\-|&#@:]+)|([\s\S])/g;

export function sqlTokens(sql: string): SqlToken[] {
  const tokens: SqlToken[] = [];
  for (const match of sql.matchAll(PATTERN)) {
    const [text] = match;
    const kind: SqlTokenKind = match[1]
      ? 'comment'
      : match[2] || match[3]
        ? 'string'
        : match[5]
          ? 'quoted'
          : match[6]
            ? 'param'
            : match[7]
              ? 'number'
              : match[8]
                ? KEYWORDS.has(text.toLowerCase())
                  ? 'keyword'
                  : 'identifier'
                : match[9]
                  ? 'space'
                  : match[10]
                    ? 'operator'
                    : 'other';
    const last = tokens.at(-1);
    // Merge runs of plain characters so the DOM stays small for long statements.
    if (last && last.kind === kind && (kind === 'other' || kind === 'space')) tokens[tokens.length - 1] = { kind, text: last.text + text };
    else tokens.push({ kind, text });
  }
  return tokens;
}
