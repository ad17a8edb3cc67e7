import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/run-cli.js';

// The resource password is absent on purpose: explaining policy needs no credentials.
const CONFIG = [
  'resources:',
  '  - { name: prod-db, type: postgres, upstream: "postgres://app@db.internal:5432/app", password: "${env:PROD_DB_PASSWORD}" }',
  '  - { name: billing-api, type: http, upstream: "https://billing.internal" }',
  '  - { name: kube-prod, type: exec, command: [kubectl, --context, prod] }',
  'policy:',
  '  - { name: ci-read, match: { groups: [ci], resources: [prod-db], kinds: [select] }, effect: allow }',
  '  - { name: ci-writes, match: { groups: [ci], resources: [prod-db], kinds: [insert, update, delete] }, effect: approve, session_grant: 1h }',
  '  - { name: ci-no-ddl, match: { groups: [ci], kinds: [ddl] }, effect: deny }',
  '  - { name: app-schema, match: { claims: { repository: "org/*" }, kinds: [select], relations: ["app.*"] }, effect: allow }',
  '  - { name: ci-billing-reads, match: { groups: [ci], resources: [billing-api], methods: [GET], paths: ["/invoices/**"] }, effect: allow }',
  '  - { name: refunds, match: { resources: [billing-api], methods: [POST], paths: ["/refunds/**"] }, effect: approve, reason: "refunds need a second pair of eyes" }',
  '  - { name: kube-reads, match: { groups: [ci], resources: [kube-prod], args: ["get **"] }, effect: allow }',
  '',
].join('\n');

const CI = 'subject=alice,groups=ci|dba,repository=org/app';

let dir: string;
let explain: (...args: string[]) => ReturnType<typeof runCli>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-policy-cli-'));
  await writeFile(join(dir, 'sluice.yaml'), CONFIG);
  explain = (...args) => runCli(['policy', 'explain', ...args], { cwd: dir });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sluice policy explain', () => {
  it('prints each statement, its decision and trace, then the message decision; exit 0 even for deny', async () => {
    const { code, stdout, stderr } = await explain('--identity', CI, '--resource', 'prod-db', '--sql', 'SELECT * FROM orders; DROP TABLE users');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe(
      [
        'identity: alice; groups ci, dba; claims repository=org/app',
        'resource: prod-db (user app, search_path "$user", public)',
        '',
        '1. SELECT * FROM orders',
        '   kind:       select',
        '   operations: select',
        '   reads:      public.orders',
        '   writes:     -',
        '   functions:  -',
        '   flags:      -',
        '   decision:   allow (rule ci-read): SELECT on public.orders is allowed (rule ci-read)',
        '   trace:',
        '     allow    ci-read  kind select on public.orders',
        '',
        '2. DROP TABLE users',
        '   kind:       ddl',
        '   operations: ddl',
        '   reads:      -',
        '   writes:     public.users',
        '   functions:  -',
        '   flags:      -',
        '   decision:   deny (rule ci-no-ddl): DDL on public.users',
        '   trace:',
        '     deny     ci-no-ddl  kind ddl on public.users',
        '',
        'message: deny (rule ci-no-ddl): DDL on public.users',
        '  deny     ci-no-ddl  DROP TABLE users: kind ddl on public.users',
        '  allow    ci-read    SELECT * FROM orders: kind select on public.orders',
        'outcome: the client gets "denied by rule ci-no-ddl: DDL on public.users"',
        '',
      ].join('\n'),
    );
  });

  it('shows a DELETE hidden in a CTE held for approval, and a user function denied by default', async () => {
    const cte = await explain('--identity', CI, '--resource', 'prod-db', '--sql', 'WITH d AS (DELETE FROM users WHERE id = 1 RETURNING *) SELECT * FROM d');
    expect(cte.code).toBe(0);
    expect(cte.stdout).toContain('   operations: select, delete\n');
    expect(cte.stdout).toContain('   flags:      cte_write\n');
    expect(cte.stdout).toContain('     approve  ci-writes  kind delete on public.users\n');
    expect(cte.stdout).toContain('outcome: the gateway holds it until an approver decides (who may approve it for the session, up to 1h)\n');

    const fn = await explain('--identity', CI, '--resource', 'prod-db', '--sql', 'select my_fn()');
    expect(fn.stdout).toContain('   decision:   deny (rule default): no policy rule allows select (flag unknown_function) on prod-db\n');
    expect(fn.stdout).toContain('     deny     default  no rule matched; ci-read does not cover flag unknown_function; app-schema does not cover flag unknown_function\n');
  });

  it('matches claims and resolves unqualified names with --search-path', async () => {
    const stranger = await explain('--identity', 'subject=bob,repository=org/other', '--resource', 'prod-db', '--search-path', 'app, public', '--sql', 'SELECT * FROM invoices');
    expect(stranger.stdout).toContain('   reads:      app.invoices\n');
    expect(stranger.stdout).toContain('     allow    app-schema  kind select on app.invoices\n');
    const outsider = await explain('--identity', 'subject=bob,repository=elsewhere/x', '--resource', 'prod-db', '--search-path', 'app', '--sql', 'SELECT * FROM invoices');
    expect(outsider.stdout).toContain('message: deny (rule default): no policy rule allows select on prod-db\n');
  });

  it('prints JSON with --json', async () => {
    const { code, stdout } = await explain('--identity', CI, '--resource', 'prod-db', '--sql', 'DELETE FROM orders', '--json');
    expect(code).toBe(0);
    const output = JSON.parse(stdout) as Record<string, unknown>;
    expect(output).toEqual({
      identity: { subject: 'alice', groups: ['ci', 'dba'], claims: { repository: 'org/app' } },
      resource: 'prod-db',
      user: 'app',
      searchPath: '"$user", public',
      statements: [
        expect.objectContaining({
          text: 'DELETE FROM orders',
          kind: 'delete',
          operations: ['delete'],
          writes: ['public.orders'],
          flags: ['no_where'],
          decision: {
            effect: 'approve',
            rule: 'ci-writes',
            reason: 'DELETE on public.orders needs approval (rule ci-writes)',
            trace: [{ rule: 'ci-writes', effect: 'approve', why: 'kind delete on public.orders' }],
            sessionGrantMs: 3_600_000,
          },
        }),
      ],
      decision: expect.objectContaining({ effect: 'approve', rule: 'ci-writes', sessionGrantMs: 3_600_000 }),
    });
  });

  it('explains an HTTP request and a command on resources of those types', async () => {
    const read = await explain('--identity', CI, '--resource', 'billing-api', '--request', 'get /invoices/2026/11');
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(/^decision: {3}allow \(rule ci-billing-reads\)/m);
    expect(read.stdout).toMatch(/^outcome: the gateway forwards it$/m);
    const refund = await explain('--identity', CI, '--resource', 'billing-api', '--request', 'POST /refunds/42?force=1', '--json');
    expect(JSON.parse(refund.stdout)).toMatchObject({ resource: 'billing-api', decision: { effect: 'approve', rule: 'refunds', reason: expect.stringContaining('refunds need a second pair of eyes') } });
    const other = await explain('--identity', CI, '--resource', 'billing-api', '--request', 'DELETE /invoices/1');
    expect(other.stdout).toMatch(/^decision: {3}deny \(rule default\)/m);
    const kube = await explain('--identity', CI, '--resource', 'kube-prod', '--args', 'get pods -A');
    expect(kube.stdout).toMatch(/^decision: {3}allow \(rule kube-reads\)/m);
    const exec = await explain('--identity', CI, '--resource', 'kube-prod', '--args', 'exec -it web -- sh');
    expect(exec.stdout).toMatch(/^decision: {3}deny /m);
  });

  it('explains SQL that does not parse as the parser deny', async () => {
    const { code, stdout } = await explain('--identity', CI, '--resource', 'prod-db', '--sql', 'SELEC 1');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^message: deny \(rule parser\): the statement does not parse: syntax error at or near "SELEC"/m);
    expect(stdout).toMatch(/^outcome: the client gets "denied: the statement does not parse: /m);
  });

  it('refuses a wrong command line with exit code 2 and says what is wrong', async () => {
    const cases: [string[], RegExp][] = [
      [['--resource', 'prod-db', '--sql', 'SELECT 1'], /^sluice: sluice policy explain: --identity is required; e\.g\. --identity 'subject=alice,groups=ci\|dba,repository=org\/app'\n$/],
      [['--identity', CI, '--sql', 'SELECT 1'], /^sluice: sluice policy explain: --resource is required; e\.g\. --resource prod-db\n$/],
      [['--identity', CI, '--resource', 'prod-db'], /^sluice: sluice policy explain: --sql is required/],
      [['--identity', 'groups=ci', '--resource', 'prod-db', '--sql', 'SELECT 1'], /^sluice: --identity names no subject; use --identity 'subject=/],
      [['--identity', 'subject=a,ci', '--resource', 'prod-db', '--sql', 'SELECT 1'], /^sluice: --identity: "ci" is not key=value; use --identity/],
      [['--identity', 'subject=a,subject=b', '--resource', 'prod-db', '--sql', 'SELECT 1'], /^sluice: --identity: "subject" is given twice/],
      [['--identity', CI, '--resource', 'nope', '--sql', 'SELECT 1'], /^sluice: no resource named "nope"; resources: prod-db \(postgres\), billing-api \(http\), kube-prod \(exec\)\n$/],
      [['--identity', CI, '--resource', 'billing-api', '--sql', 'SELECT 1'], /^sluice: "billing-api" is an http resource: --sql is for postgres resources; pass --request 'GET \/path'\n$/],
      [['--identity', CI, '--resource', 'billing-api', '--request', 'refunds'], /^sluice: --request "refunds" is not METHOD \/path; e\.g\./],
      [['--identity', CI, '--resource', 'kube-prod'], /^sluice: sluice policy explain: --args is required/],
      [['--identity', CI, '--resource', 'prod-db', '--sql', 'SELECT 1', '--bogus'], /^sluice: sluice policy explain: Unknown option '--bogus'; run 'sluice policy explain --help'\n$/],
    ];
    for (const [argv, message] of cases) {
      const { code, stdout, stderr } = await explain(...argv);
      expect({ argv, code, stdout }).toEqual({ argv, code: 2, stdout: '' });
      expect(stderr).toMatch(message);
    }
  });

  it('reports config problems with exit code 1, and is listed in --help', async () => {
    const broken = await runCli(['policy', 'explain', '--config', 'missing.yaml', '--identity', CI, '--resource', 'prod-db', '--sql', 'SELECT 1'], { cwd: dir });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/cannot read the config file \(ENOENT\)/);
    expect((await runCli(['--help'])).stdout).toContain('  policy explain');
    expect((await runCli(['policy'])).stderr).toMatch(/^sluice: 'policy' is not a command; try one of: policy explain\n$/);
  });
});
