// Policy checks that look beyond one value: a rule's effect against its session_grant, group
// templates, and SQL matchers against the resources a rule names. They read the raw tree (like
// crossReferenceProblems) so they are reported together with every other config problem.

type Path = (string | number)[];

const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const SQL_MATCHERS = ['kinds', 'relations', 'flags'] as const;
const HTTP_MATCHERS = ['methods', 'paths', 'fields'] as const;

/** Problems in `policy[]`, given the raw rules and resources (items that are not mappings arrive as {}). */
export function policyProblems(rules: readonly Record<string, unknown>[], resources: readonly Record<string, unknown>[]): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  const typeOf = new Map<unknown, unknown>(resources.map((resource) => [resource.name, resource.type]));
  rules.forEach((rule, index) => {
    const match = asRecord(rule.match);
    if (rule.session_grant !== undefined && (rule.effect === 'allow' || rule.effect === 'deny')) {
      problems.push({
        path: ['policy', index, 'session_grant'],
        message: `only applies to rules with effect approve (this rule's effect is ${rule.effect}); remove it or make the rule approve`,
      });
    }
    asArray(match.groups).forEach((group, groupIndex) => {
      const problem = typeof group === 'string' ? templateProblem(group) : undefined;
      if (problem) problems.push({ path: ['policy', index, 'match', 'groups', groupIndex], message: `group template "${group as string}" ${problem}` });
    });
    const named = asArray(match.resources);
    // Only when every named resource is known and none is PostgreSQL: unknown names are reported elsewhere.
    const types = named.map((name) => (name === '*' ? 'postgres' : typeOf.get(name)));
    if (named.length > 0 && types.every((type) => type === 'http' || type === 'exec')) {
      const listed = named.map((name, i) => `${String(name)} (${String(types[i])})`).join(', ');
      for (const key of SQL_MATCHERS) {
        if (match[key] === undefined) continue;
        problems.push({
          path: ['policy', index, 'match', key],
          message: `${key} match SQL statements, but this rule names only non-postgres resources: ${listed}; remove ${key} or name a postgres resource`,
        });
      }
    } else {
      // A rule naming postgres and http resources with SQL dimensions would never apply them to the
      // http ones: a deny meant for both would let every request through. Refuse it.
      const http = named.filter((_, i) => types[i] === 'http').map(String);
      for (const key of SQL_MATCHERS) {
        if (match[key] === undefined || http.length === 0) continue;
        problems.push({
          path: ['policy', index, 'match', key],
          message: `${key} match SQL statements, but this rule also names http resources: ${http.join(', ')}; write one rule for the postgres resources and one (with methods, paths or fields) for the http ones`,
        });
      }
    }
    problems.push(...httpMatcherProblems(match, index, named, named.map((name) => (name === '*' ? '*' : typeOf.get(name)))));
    problems.push(...execMatcherProblems(match, index, named, named.map((name) => (name === '*' ? '*' : typeOf.get(name)))));
  });
  return problems;
}

/** HTTP matchers (methods, paths, fields) on a rule that also lists SQL matchers, or that names resources that are not http. */
function httpMatcherProblems(match: Record<string, unknown>, index: number, named: readonly unknown[], types: readonly unknown[]): { path: Path; message: string }[] {
  const keys = HTTP_MATCHERS.filter((key) => match[key] !== undefined);
  if (keys.length === 0) return [];
  const first = keys[0]!;
  const sql = SQL_MATCHERS.find((key) => match[key] !== undefined);
  if (sql) {
    return [{ path: ['policy', index, 'match', first], message: `${first} match HTTP requests and ${sql} match SQL statements, so this rule could never match anything; split it into one rule for each` }];
  }
  // Unknown names are reported elsewhere; `*` may include http resources.
  const others: string[] = [];
  named.forEach((name, i) => {
    const type = types[i];
    if (type !== undefined && type !== 'http' && type !== '*') others.push(`${String(name)} (${String(type)})`);
  });
  return others.length === 0
    ? []
    : keys.map((key) => ({
        path: ['policy', index, 'match', key],
        message: `${key} match HTTP requests, but this rule names resources that are not http: ${others.join(', ')}; remove ${key} or name only http resources`,
      }));
}

/** `args` (commands on exec resources) with SQL or HTTP matchers, or on a rule naming resources that are not exec. */
function execMatcherProblems(match: Record<string, unknown>, index: number, named: readonly unknown[], types: readonly unknown[]): { path: Path; message: string }[] {
  if (match.args === undefined) return [];
  const other = [...SQL_MATCHERS, ...HTTP_MATCHERS].find((key) => match[key] !== undefined);
  if (other) {
    return [{ path: ['policy', index, 'match', 'args'], message: `args match commands of exec resources and ${other} does not, so this rule could never match anything; split it into one rule for each` }];
  }
  const others: string[] = [];
  named.forEach((name, i) => {
    const type = types[i];
    if (type !== undefined && type !== 'exec' && type !== '*') others.push(`${String(name)} (${String(type)})`);
  });
  return others.length === 0 ? [] : [{ path: ['policy', index, 'match', 'args'], message: `args match commands, but this rule names resources that are not exec: ${others.join(', ')}; remove args or name only exec resources` }];
}

/** What is wrong with a group entry's `{claim}` placeholders, or undefined when nothing is. */
function templateProblem(entry: string): string | undefined {
  let at = 0;
  for (;;) {
    const open = entry.indexOf('{', at);
    const close = entry.indexOf('}', at);
    if (close !== -1 && (open === -1 || close < open)) return 'has a "}" without an opening "{"; placeholders look like "repo:{repository}"';
    if (open === -1) return undefined;
    const nested = entry.indexOf('{', open + 1);
    if (close === -1 || (nested !== -1 && nested < close)) return 'has a "{" without a closing "}"; placeholders look like "repo:{repository}"';
    const claim = entry.slice(open + 1, close);
    if (claim === '') return 'has an empty placeholder "{}"; name a claim inside the braces, e.g. "repo:{repository}"';
    if (!CLAIM_NAME.test(claim)) return `has placeholder "{${claim}}", which is not a claim name (letters, digits, "_" and "."; not starting with a digit)`;
    at = close + 1;
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
