import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../../proxy/config/load-config.js';
import type { PolicyRequest } from '../../../proxy/policy/decision.js';
import { compilePathGlobs, type BodyFields, type HttpRequestClass } from '../../../proxy/policy/http-request.js';
import { PolicyEngine } from '../../../proxy/policy/policy-engine.js';
import { pathViews } from '../../../proxy/http/request-target.js';

const RESOURCES = `
resources:
  - { name: db, type: postgres, upstream: "postgres://app@db.internal/app" }
  - { name: api, type: http, upstream: "https://api.internal" }
  - { name: other-api, type: http, upstream: "https://other.internal" }
`;

function engineFor(policy: readonly string[]): PolicyEngine {
  const { config } = parseConfig(`${RESOURCES}policy:\n${policy.map((rule) => `  - ${rule}`).join('\n')}\n`, { file: '/x/sluice.yaml', env: {} });
  return new PolicyEngine(config);
}

function problems(lines: readonly string[]): string[] {
  try {
    parseConfig(`${RESOURCES}${lines.join('\n')}\n`, { file: '/x/sluice.yaml', env: {} });
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}

function request(method: string, path: string, body?: unknown): HttpRequestClass {
  const fields: BodyFields | undefined = body === undefined ? undefined : body === null ? { kind: 'empty' } : typeof body === 'string' ? { kind: 'unknown', why: body } : { kind: 'json', value: body };
  return { method, path, pathViews: pathViews(path), text: `${method} ${path}`, ...(fields ? { fields } : {}) };
}

const ci: PolicyRequest['identity'] = { subject: 'ci-job', groups: ['ci'], claims: {} };

describe('HTTP policy decisions', () => {
  const engine = engineFor([
    '{ name: reads, match: { groups: [ci], resources: [api], methods: [GET, HEAD], paths: ["/invoices/**", "/users/*"] }, effect: allow }',
    '{ name: profile, match: { groups: [ci], resources: [api], methods: [PATCH], paths: ["/users/*"], fields: [$.name, $.contact] }, effect: allow }',
    '{ name: refunds, match: { groups: [ci], resources: [api], methods: [POST], paths: [/refunds] }, effect: approve, session_grant: 10m }',
    '{ name: no-admin, match: { paths: ["/admin/**"] }, effect: deny, reason: "no admin API" }',
    '{ name: no-role, match: { fields: [$.role, "$..is_admin"] }, effect: deny }',
    '{ name: sql-reads, match: { groups: [ci], kinds: [select] }, effect: allow }',
  ]);
  const decide = (req: HttpRequestClass, resource = 'api') => engine.decideHttp({ identity: ci, resource, request: req });

  it('denies by default, naming the request and the allow rules that did not cover it', () => {
    expect(decide(request('DELETE', '/invoices/1', null))).toEqual({
      effect: 'deny',
      rule: 'default',
      reason: 'no policy rule allows DELETE /invoices/1 on api',
      trace: [{ rule: 'default', effect: 'deny', why: 'no rule matched; reads does not cover method DELETE; profile does not cover method DELETE' }],
    });
    expect(decide(request('GET', '/x'), 'nope').reason).toBe('no resource named "nope" is configured');
  });

  it('allows a method and path an allow rule covers; `*` is one segment, `**` any depth', () => {
    expect(decide(request('GET', '/invoices/2024/7', null))).toMatchObject({ effect: 'allow', rule: 'reads', reason: 'GET /invoices/2024/7 is allowed (rule reads)' });
    expect(decide(request('GET', '/invoices', null)).effect).toBe('allow');
    expect(decide(request('GET', '/users/7', null)).effect).toBe('allow');
    expect(decide(request('GET', '/users/7/tokens', null)).effect).toBe('deny');
    // Allow rules compare exactly: a case variant is not covered.
    expect(decide(request('GET', '/Invoices/1', null)).effect).toBe('deny');
  });

  it('denies on any reading of the path, in any case', () => {
    for (const path of ['/admin', '/admin/x', '/ADMIN/x', '/admin%2Fx', '/admin;v=1/x']) {
      expect(decide(request('GET', path, null)), path).toMatchObject({ effect: 'deny', rule: 'no-admin', reason: 'no admin API' });
    }
  });

  it('holds what an approve rule matches, with its session grant', () => {
    expect(decide(request('POST', '/refunds', { amount: 1 }))).toMatchObject({ effect: 'approve', rule: 'refunds', reason: 'POST /refunds needs approval (rule refunds)', sessionGrantMs: 600_000 });
  });

  it('allows a body only when every field it sets is listed (or under a listed field)', () => {
    expect(decide(request('PATCH', '/users/1', { name: 'x', contact: { email: 'e', phones: ['1'] } })).effect).toBe('allow');
    expect(decide(request('PATCH', '/users/1', null)).effect).toBe('allow');
    expect(decide(request('PATCH', '/users/1', { name: 'x', nickname: 'y' }))).toMatchObject({ effect: 'deny', trace: [{ why: 'no rule matched; reads does not cover method PATCH; profile does not cover field $.nickname' }] });
    // A body it cannot read: the allow does not cover it, and the deny naming fields matches (fail closed both ways).
    expect(decide(request('PATCH', '/users/1', 'the body is text/plain, not JSON'))).toMatchObject({ effect: 'deny', rule: 'no-role', trace: [{ why: 'field (the body is text/plain, not JSON)' }] });
    expect(engineFor(['{ name: profile, match: { methods: [PATCH], fields: [$.name] }, effect: allow }']).decideHttp({ identity: ci, resource: 'api', request: request('PATCH', '/u', 'not JSON') })).toMatchObject({
      effect: 'deny',
      trace: [{ why: 'no rule matched; profile does not cover fields (not JSON)' }],
    });
    // A body that is not an object sets the root itself.
    expect(decide(request('PATCH', '/users/1', 'x')).effect).toBe('deny');
  });

  it('denies a body setting a denied field anywhere a path names it, ignoring case', () => {
    expect(decide(request('PATCH', '/users/1', { name: 'x', Role: 'admin' }))).toMatchObject({ effect: 'deny', rule: 'no-role', reason: 'PATCH /users/1 setting $.Role' });
    expect(decide(request('PATCH', '/users/1', { contact: { list: [{ is_admin: true }] } }))).toMatchObject({ rule: 'no-role', reason: 'PATCH /users/1 setting $.contact.list[0].is_admin' });
    // A body it could not read matches a deny naming fields: fail closed.
    expect(decide(request('POST', '/refunds', 'the body is not valid JSON'))).toMatchObject({ effect: 'deny', rule: 'no-role' });
  });

  it('puts a rule that matched what the request says before one that matched an unread body', () => {
    const both = decide(request('GET', '/admin/x'));
    expect(both.rule).toBe('no-admin');
    expect(both.trace.map((step) => step.rule)).toEqual(['no-admin', 'no-role']);
    expect(both.trace[1]!.why).toBe('field (the body was not read)');
  });

  it('asks for the body only when a rule needs its fields and nothing denies the request anyway', () => {
    expect(engine.httpWantsFields(ci, 'api', request('PATCH', '/users/1'))).toBe(true);
    expect(engine.httpWantsFields(ci, 'api', request('GET', '/admin/x'))).toBe(false);
    expect(engineFor(['{ name: r, match: { methods: [GET] }, effect: allow }']).httpWantsFields(ci, 'api', request('POST', '/x'))).toBe(false);
  });

  it('never matches SQL rules to requests nor HTTP rules to statements', () => {
    expect(decide(request('GET', '/anything', null)).trace[0]!.why).not.toContain('sql-reads');
    const statement = { text: 'SELECT 1', kind: 'select' as const, operations: ['select' as const], reads: [], writes: [], functions: [], flags: [] };
    const sqlEngine = engineFor(['{ name: all-get, match: { methods: [GET] }, effect: allow }', '{ name: all-deny, match: { paths: ["/**"] }, effect: deny }', '{ name: sql-reads, match: { kinds: [select] }, effect: allow }']);
    expect(sqlEngine.decide({ identity: ci, resource: 'db', statement })).toMatchObject({ effect: 'allow', rule: 'sql-reads' });
    // A rule naming neither applies to both.
    const both = engineFor(['{ name: ci-everything, match: { groups: [ci] }, effect: allow }']);
    expect(both.decide({ identity: ci, resource: 'db', statement }).effect).toBe('allow');
    expect(both.decideHttp({ identity: ci, resource: 'api', request: request('DELETE', '/x', null) })).toMatchObject({ effect: 'allow', trace: [{ why: 'groups ci' }] });
  });

  it('opens an http resource to a caller some allow or approve rule can match', () => {
    expect(engine.resourcesFor(ci)).toEqual(['db', 'api']);
    expect(engineFor(['{ name: x, match: { resources: [other-api], methods: [GET] }, effect: allow }']).resourcesFor(ci)).toEqual(['other-api']);
  });

  it('compiles path globs', () => {
    const exact = compilePathGlobs(['/a/*/c', '/b/**', '/x*y'], { ignoreCase: false });
    expect(['/a/b/c', '/a//c', '/b', '/b/', '/b/c/d', '/xzzy'].every((path) => exact.test(path))).toBe(true);
    expect(['/a/b/x/c', '/A/b/c', '/bb', '/x/y'].some((path) => exact.test(path))).toBe(false);
    expect(compilePathGlobs(['/A/*'], { ignoreCase: true }).test('/a/B')).toBe(true);
    expect(compilePathGlobs(['/a.b/(x)'], { ignoreCase: false }).test('/aXb/(x)')).toBe(false);
  });
});

describe('HTTP policy config', () => {
  it('reads methods (upper-cased), path globs and field paths', () => {
    const { config } = parseConfig(`${RESOURCES}policy:\n  - { name: r, match: { resources: [api], methods: [get, Post], paths: ["/a/**"], fields: ["$.x[*].y"] }, effect: allow }\n`, { file: '/x/sluice.yaml', env: {} });
    expect(config.policy[0]!.match).toEqual({ resources: ['api'], methods: ['GET', 'POST'], paths: ['/a/**'], fields: ['$.x[*].y'] });
  });

  it('refuses malformed HTTP matchers, naming the key', () => {
    expect(problems(['policy:', '  - { name: r, match: { methods: ["GET /x"], paths: ["no-slash", "/a/../b", "/a?b", "/***"], fields: ["x.y", "$.a[?(@)]"] }, effect: deny }'])).toEqual([
      'policy[0].match.methods[0]: "GET /x" is not an HTTP method (letters only, e.g. GET, POST, or WEBSOCKET for an upgrade)',
      'policy[0].match.paths[0]: "no-slash" is not a path glob: it starts with "/" and holds URL path characters (no query, "?" or spaces); "*" matches within a segment, "**" across segments',
      'policy[0].match.paths[1]: "/a/../b" has a "." or ".." segment, which the gateway refuses in requests: it can never match',
      'policy[0].match.paths[2]: "/a?b" is not a path glob: it starts with "/" and holds URL path characters (no query, "?" or spaces); "*" matches within a segment, "**" across segments',
      'policy[0].match.paths[3]: "/***" has "***": use "*" (one segment) or "**" (any depth)',
      'policy[0].match.fields[0]: must start with "$" (e.g. "$.customers[*].email")',
      "policy[0].match.fields[1]: expected 'name', an index or * inside [ ] at character 5 of \"$.a[?(@)]\"; supported: .name, ['name'], [0], [*], .*, ..name",
    ]);
  });

  it('refuses HTTP matchers on non-http resources, SQL matchers on http ones, and both in one rule', () => {
    expect(
      problems([
        'policy:',
        '  - { name: a, match: { resources: [db], methods: [GET] }, effect: allow }',
        '  - { name: b, match: { resources: [db, api], kinds: [select] }, effect: allow }',
        '  - { name: c, match: { resources: [api], paths: ["/x"], flags: [no_where] }, effect: deny }',
        '  - { name: d, match: { resources: [api], kinds: [select] }, effect: deny }',
        '  - { name: fine, match: { resources: ["*"], methods: [GET] }, effect: allow }',
        '  - { name: fine-too, match: { resources: [api, other-api], fields: [$.a] }, effect: deny }',
      ]),
    ).toEqual([
      'policy[0].match.methods: methods match HTTP requests, but this rule names resources that are not http: db (postgres); remove methods or name only http resources',
      'policy[1].match.kinds: kinds match SQL statements, but this rule also names http resources: api; write one rule for the postgres resources and one (with methods, paths or fields) for the http ones',
      'policy[2].match.flags: flags match SQL statements, but this rule names only non-postgres resources: api (http); remove flags or name a postgres resource',
      'policy[2].match.paths: paths match HTTP requests and flags match SQL statements, so this rule could never match anything; split it into one rule for each',
      'policy[3].match.kinds: kinds match SQL statements, but this rule names only non-postgres resources: api (http); remove kinds or name a postgres resource',
    ]);
  });

  it('validates json_paths masking rules', () => {
    expect(
      problems([
        'masking:',
        '  - { name: a, json_paths: ["$.customers[*].email"], strategy: hash }',
        '  - { name: b, json_paths: ["email"], strategy: redact }',
        '  - { name: c, json_paths: ["$.x"], detect: email, strategy: redact }',
        '  - { name: d, json_paths: ["$.x"], columns: [public.t.c], strategy: redact }',
        '  - { name: e, json_paths: ["$.x"], strategy: redact, derived: deny }',
        '  - { name: f, json_paths: [], strategy: redact }',
      ]),
    ).toEqual([
      'masking[1].json_paths[0]: must start with "$" (e.g. "$.customers[*].email")',
      'masking[2].json_paths: a rule masks one kind of thing: JSON fields (`json_paths`), source columns (`columns`) or content anywhere (`detect` / `pattern`); write one rule for each',
      'masking[3].json_paths: a rule masks one kind of thing: JSON fields (`json_paths`), source columns (`columns`) or content anywhere (`detect` / `pattern`); write one rule for each',
      'masking[4].derived: only applies to column rules (`columns`): content rules see every value anyway',
      'masking[5].json_paths: must list at least one field path',
    ]);
  });
});
