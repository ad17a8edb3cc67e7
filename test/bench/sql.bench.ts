import { normalizeSync, parseSync } from 'libpg-query';
import { maskedFlows } from '../../proxy/sql/masked-flow.js';
import type { MaskedRelation, MaskedSchema } from '../../proxy/sql/masked-flow-types.js';
import { relationNamesFor } from '../../proxy/sql/search-path.js';
import { SqlClassifier } from '../../proxy/sql/sql-classifier.js';
import { loadSqlParser, parseStatements } from '../../proxy/sql/sql-parser.js';
import type { ClassifyContext } from '../../proxy/sql/statement-class.js';
import { measure, type BenchResult } from './measure.js';

// Classification runs on every statement a session sends, before it goes upstream. A hit is
// the steady state of an application; pgbench's simple protocol sends the same statements with
// new constants each time, which the shape (normalized text) cache answers; a miss is a
// statement never seen. Misses use distinct texts (a counter in a comment defeats both caches).

const CTX: ClassifyContext = { searchPath: '"$user", public', user: 'bench' };

const pgbenchSelect = (aid: number) => `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid};`;

const bigQuery = (n: number) => `/* ${n} */ WITH recent AS (
  SELECT o.id, o.customer_id, sum(l.amount) AS total
  FROM sales.orders o JOIN sales.lines l ON l.order_id = o.id
  WHERE o.created_at > now() - interval '7 days' AND o.id > ${n}
  GROUP BY 1, 2
), ranked AS (
  SELECT r.*, rank() OVER (PARTITION BY customer_id ORDER BY total DESC) AS rk FROM recent r
)
SELECT c.name, c.email, r.total
FROM ranked r
JOIN customers c ON c.id = r.customer_id
LEFT JOIN LATERAL (SELECT count(*) AS n FROM tickets t WHERE t.customer_id = c.id) tk ON true
WHERE r.rk <= 3 AND c.id IN (SELECT customer_id FROM vip)
ORDER BY r.total DESC LIMIT 50`;

export async function sqlBenchmarks(): Promise<BenchResult[]> {
  await loadSqlParser();
  const results: BenchResult[] = [];
  let n = 0;

  const hits = new SqlClassifier();
  const fixedSelect = pgbenchSelect(4711);
  const fixedBig = bigQuery(0);
  results.push(await measure('sql classify hit: pgbench SELECT', () => hits.classify(fixedSelect, CTX)));
  results.push(await measure('sql classify hit: join + CTE query', () => hits.classify(fixedBig, CTX)));

  const shapes = new SqlClassifier();
  results.push(await measure('sql classify, new constant: pgbench SELECT', () => shapes.classify(pgbenchSelect(n++), CTX)));

  // Fresh classifiers so cache eviction is not part of the figure.
  let misses = new SqlClassifier();
  const miss = (text: string) => {
    if (++n % 5_000 === 0) misses = new SqlClassifier();
    return misses.classify(text, CTX);
  };
  results.push(await measure('sql classify miss: pgbench SELECT', () => miss(`/* ${n} */ ${pgbenchSelect(n)}`)));
  results.push(await measure('sql classify miss: join + CTE query', () => miss(bigQuery(n))));

  // The masking guard's analysis for a caller with column rules (statement-judge.ts runs it
  // after policy, per new text): a parse plus the masked-flow walk over the tree.
  const relation = (columns: string[], masked: [string, string][] = []): MaskedRelation => ({ columns, masked: new Map(masked) });
  const relations: Record<string, MaskedRelation> = {
    'public.customers': relation(['id', 'name', 'email'], [['email', 'emails']]),
    'sales.orders': relation(['id', 'customer_id', 'created_at']),
    'sales.lines': relation(['order_id', 'amount']),
    'public.tickets': relation(['customer_id']),
    'public.vip': relation(['customer_id']),
  };
  const schema: MaskedSchema = { relation: (name) => relations[name], ruleIdentifiers: new Map([['email', 'emails']]) };
  const names = relationNamesFor(CTX.searchPath, CTX.user);
  const guard = (text: string) => {
    const parsed = parseStatements(text);
    if (parsed.ok) for (const { node, text: own } of parsed.statements) maskedFlows(node, own, names, schema);
  };
  results.push(await measure('masking guard (parse + masked-flow analysis): pgbench SELECT', () => guard(pgbenchSelect(n++))));
  results.push(await measure('masking guard (parse + masked-flow analysis): join + CTE query', () => guard(bigQuery(n++))));

  // The parser's own costs, for comparison with the misses above.
  results.push(await measure('libpg-query parseSync: pgbench SELECT', () => parseSync(pgbenchSelect(n++))));
  results.push(await measure('libpg-query normalizeSync: pgbench SELECT', () => normalizeSync(pgbenchSelect(n++))));
  results.push(await measure('libpg-query parseSync: join + CTE query', () => parseSync(bigQuery(n++))));
  return results;
}
