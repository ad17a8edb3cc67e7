import { parseConfig } from '../../proxy/config/load-config.js';
import type { Identity } from '../../proxy/identity/identity.js';
import { PolicyEngine } from '../../proxy/policy/policy-engine.js';
import { SqlClassifier } from '../../proxy/sql/sql-classifier.js';
import { loadSqlParser } from '../../proxy/sql/sql-parser.js';
import { REALISTIC_POLICY } from './gateway.bench.js';
import { measure, type BenchResult } from './measure.js';

// Policy runs for every statement after classification: the rule walk for the bench's realistic
// eight-rule policy, for an allowed pgbench read and for a statement that falls to default deny.

export async function policyBenchmarks(): Promise<BenchResult[]> {
  await loadSqlParser();
  const yaml = [
    'resources:',
    '  - { name: bench, type: postgres, upstream: "postgres://app@127.0.0.1:5432/bench" }',
    'policy:',
    ...REALISTIC_POLICY.map((rule) => `  - ${rule}`),
    '',
  ].join('\n');
  const { config } = parseConfig(yaml, { file: 'bench.yaml', env: {} });
  const policy = new PolicyEngine(config);
  const classifier = new SqlClassifier();
  const identity: Identity = { subject: 'bench', issuer: 'sluice:token', groups: ['bench'], claims: {}, method: 'token' };
  const context = { searchPath: '"$user", public', user: 'app' };
  const classified = (sql: string) => {
    const result = classifier.classify(sql, context);
    if (!result.ok) throw new Error(result.error);
    return result.statements;
  };
  const read = classified('SELECT abalance FROM pgbench_accounts WHERE aid = 4711');
  const denied = classified('SELECT * FROM secret.keys');
  return [
    await measure('policy: decide an allowed read (8 rules)', () => policy.decideMessage(identity, 'bench', read), 1),
    await measure('policy: decide a default deny (8 rules)', () => policy.decideMessage(identity, 'bench', denied), 1),
  ];
}
