// Policy checks that look beyond one value: a rule's effect against its session_grant, group
// templates, and SQL matchers against the resources a rule names. They read the raw tree (like
// crossReferenceProblems) so they are reported together with every other config problem.

type Path = (string | number)[];

const CLAIM_NAME = /^[A-Za-z_][A-Za-z0-9_.]*$/;
const SQL_MATCHERS = ['kinds', 'relations', 'flags'] as const;

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
    }
  });
  return problems;
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
