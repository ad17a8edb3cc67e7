import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../proxy/config/load-config.js';
import { DEFAULT_DANGEROUS_FUNCTIONS } from '../../../proxy/sql/dangerous-functions.js';

const RESOURCES = [
  'resources:',
  '  - { name: db, type: postgres, upstream: "postgres://app@db/app" }',
  '  - { name: api, type: http, upstream: "https://api.internal" }',
  '  - { name: job, type: exec, command: [make] }',
];

function problems(lines: readonly string[]): string[] {
  try {
    parseConfig([...RESOURCES, ...lines].join('\n'), { file: '/x/sluice.yaml', env: {} });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.line}: ${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('policy and sql config', () => {
  it('reads flags, claims, relation globs, session_grant and the dangerous-function list', () => {
    const { config } = parseConfig(
      [
        ...RESOURCES,
        'policy:',
        '  - name: ci-functions',
        '    match: { claims: { repository: "org/*", environment: [staging, prod] }, relations: ["public.*", "*.users"], flags: [unknown_function] }',
        '    effect: allow',
        '  - { name: full-deletes, match: { flags: [no_where] }, effect: approve, session_grant: 4h }',
        'sql: { dangerous_functions: [pg_read_file, "dblink*", "admin.*", "admin.reset_all"] }',
      ].join('\n'),
      { file: '/x/sluice.yaml', env: {} },
    );
    expect(config.policy[0]!.match).toEqual({
      claims: { repository: 'org/*', environment: ['staging', 'prod'] },
      relations: ['public.*', '*.users'],
      flags: ['unknown_function'],
    });
    expect(config.policy[1]!.session_grant).toBe(4 * 3_600_000);
    expect(config.sql.dangerous_functions).toEqual(['pg_read_file', 'dblink*', 'admin.*', 'admin.reset_all']);
    expect(parseConfig('', { file: '/x/sluice.yaml' }).config.sql.dangerous_functions).toEqual(DEFAULT_DANGEROUS_FUNCTIONS);
  });

  it('names the known flags for an unknown one, and refuses bad claims, relations and function names', () => {
    expect(
      problems([
        'policy:',
        '  - { name: a, match: { flags: [no_were] }, effect: deny }', // 6
        '  - { name: b, match: { claims: { repository: 7, env: [] }, relations: [users] }, effect: deny }', // 7
        'sql: { dangerous_functions: [PG_READ_FILE, "a.b.c", "x*y", ""] }', // 8
      ]),
    ).toEqual([
      '6: policy[0].match.flags[0]: unknown flag "no_were"; known flags: no_where, cte_write, select_into, copy_program, dangerous_function, unknown_function, set_role, explain_analyze, full_scan',
      '7: policy[1].match.claims.repository: expected a claim value (or glob), or a list of them',
      '7: policy[1].match.claims.env: must list at least one value',
      '7: policy[1].match.relations[0]: must be schema-qualified (schema.table; `*` globs like public.* or *.users)',
      ...[0, 1, 2, 3].map(
        (index) =>
          `8: sql.dangerous_functions[${index}]: must be a lower-case function name, optionally schema-qualified, optionally ending in "*" (e.g. pg_read_file, dblink*, admin.reset_all)`,
      ),
    ]);
  });

  it('allows session_grant only on approve rules, up to 24h', () => {
    expect(
      problems([
        'policy:',
        '  - { name: a, match: {}, effect: allow, session_grant: 1h }', // 6
        '  - { name: b, match: {}, effect: approve, session_grant: 25h }', // 7
        '  - { name: c, match: {}, effect: approve, session_grant: 0s }', // 8
        '  - { name: d, match: {}, effect: deny, session_grant: soon }', // 9
      ]),
    ).toEqual([
      "6: policy[0].session_grant: only applies to rules with effect approve (this rule's effect is allow); remove it or make the rule approve",
      '7: policy[1].session_grant: must be more than 0 and at most 24h',
      '8: policy[2].session_grant: must be more than 0 and at most 24h',
      '9: policy[3].session_grant: "soon" is not a duration; use a number with ms, s, m, h or d',
      "9: policy[3].session_grant: only applies to rules with effect approve (this rule's effect is deny); remove it or make the rule approve",
    ]);
  });

  it('checks {claim} placeholders in match.groups', () => {
    expect(
      problems([
        'policy:',
        '  - name: a',
        '    match:',
        '      groups:',
        '        - "repo:{repository"', // 9
        '        - "env:{}"', // 10
        '        - "a}b"', // 11
        '        - "x:{bad name}"', // 12
        '        - "wf:{job_workflow_ref}:{ref}"', // fine
        '        - "{a{b}}"', // 14
        '    effect: allow',
      ]),
    ).toEqual([
      '9: policy[0].match.groups[0]: group template "repo:{repository" has a "{" without a closing "}"; placeholders look like "repo:{repository}"',
      '10: policy[0].match.groups[1]: group template "env:{}" has an empty placeholder "{}"; name a claim inside the braces, e.g. "repo:{repository}"',
      '11: policy[0].match.groups[2]: group template "a}b" has a "}" without an opening "{"; placeholders look like "repo:{repository}"',
      '12: policy[0].match.groups[3]: group template "x:{bad name}" has placeholder "{bad name}", which is not a claim name (letters, digits, "_" and "."; not starting with a digit)',
      '14: policy[0].match.groups[5]: group template "{a{b}}" has a "{" without a closing "}"; placeholders look like "repo:{repository}"',
    ]);
  });

  it('refuses SQL matchers on a rule that names http or exec resources', () => {
    expect(
      problems([
        'policy:',
        '  - { name: a, match: { resources: [api, job], kinds: [select], flags: [no_where] }, effect: deny }', // 6
        '  - { name: b, match: { resources: [api], relations: [public.users] }, effect: deny }', // 7
        '  - { name: mixed, match: { resources: [api, db], kinds: [select] }, effect: deny }', // 8
        '  - { name: fine-star, match: { resources: ["*"], kinds: [select] }, effect: allow }',
        '  - { name: fine-api, match: { resources: [api] }, effect: allow }',
      ]),
    ).toEqual([
      '6: policy[0].match.kinds: kinds match SQL statements, but this rule names only non-postgres resources: api (http), job (exec); remove kinds or name a postgres resource',
      '6: policy[0].match.flags: flags match SQL statements, but this rule names only non-postgres resources: api (http), job (exec); remove flags or name a postgres resource',
      '7: policy[1].match.relations: relations match SQL statements, but this rule names only non-postgres resources: api (http); remove relations or name a postgres resource',
      // It would never apply to api: a deny meant for both would let every request through.
      '8: policy[2].match.kinds: kinds match SQL statements, but this rule also names http resources: api; write one rule for the postgres resources and one (with methods, paths or fields) for the http ones',
    ]);
  });

  it("reserves the rule names of Sluice's own decisions", () => {
    expect(problems(['policy:', '  - { name: default, effect: allow }'])).toEqual([
      '6: policy[0].name: "default" is reserved for Sluice\'s own decisions in traces; choose another rule name',
    ]);
  });
});
