import { describe, expect, it } from 'vitest';
import type { StatementKind } from '../../../proxy/common/statement-kinds.js';
import { parseConfig } from '../../../proxy/config/load-config.js';
import type { PolicyRequest } from '../../../proxy/policy/decision.js';
import { denialMessage, unknownPreparedDecision, unparsableDecision } from '../../../proxy/policy/gateway-decisions.js';
import { PolicyEngine } from '../../../proxy/policy/policy-engine.js';
import type { StatementClass } from '../../../proxy/sql/statement-class.js';

const RESOURCES = `
resources:
  - { name: db, type: postgres, upstream: "postgres://app@db.internal/app" }
  - { name: other-db, type: postgres, upstream: "postgres://app@other.internal/app" }
  - { name: api, type: http, upstream: "https://api.internal" }
`;

function engineFor(policy: string): PolicyEngine {
  const { config } = parseConfig(`${RESOURCES}policy:\n${policy}`, { file: '/x/sluice.yaml', env: {} });
  return new PolicyEngine(config);
}

function statement(kind: StatementKind, parts: Partial<Omit<StatementClass, 'kind'>> = {}): StatementClass {
  return { text: `${kind} …`, kind, operations: [kind], reads: [], writes: [], functions: [], flags: [], ...parts };
}

const alice: PolicyRequest['identity'] = { subject: 'alice', groups: ['dba', 'approvers'], claims: {} };
const ci: PolicyRequest['identity'] = {
  subject: 'repo:org/app:ref:refs/heads/main',
  groups: ['ci', 'repo:org/app'],
  claims: { repository: 'org/app', ref: 'refs/heads/main', run_attempt: 2, fork: false },
};

const selectUsers = statement('select', { text: 'SELECT * FROM users', reads: ['public.users'] });
const deleteUsers = statement('delete', { text: 'DELETE FROM users WHERE id = 1', reads: ['public.users'], writes: ['public.users'] });

describe('the policy engine', () => {
  it('denies what no rule matches, saying what and where', () => {
    const engine = engineFor('  - { name: dba-read, match: { groups: [dba], kinds: [select] }, effect: allow }\n');
    const decision = engine.decide({ identity: ci, resource: 'db', statement: deleteUsers });
    expect(decision).toEqual({
      effect: 'deny',
      rule: 'default',
      reason: 'no policy rule allows delete on db',
      trace: [{ rule: 'default', effect: 'deny', why: 'no rule matched' }],
    });
    expect(denialMessage(decision)).toBe('denied: no policy rule allows delete on db');
    // An empty policy denies everything.
    expect(engineFor('  []\n').decide({ identity: alice, resource: 'db', statement: selectUsers }).effect).toBe('deny');
  });

  it('lets the most restrictive match win (deny > approve > allow) and traces every match in that order', () => {
    const engine = engineFor(
      [
        '  - { name: read-all, match: { kinds: [select, delete] }, effect: allow }',
        '  - { name: writes-need-approval, match: { kinds: [insert, update, delete] }, effect: approve }',
        '  - { name: no-users-delete, match: { kinds: [delete], relations: [public.users] }, effect: deny, reason: "users are deleted by the GDPR job only" }',
        '  - { name: second-approve, match: { relations: [public.users] }, effect: approve }',
      ].join('\n'),
    );
    const decision = engine.decide({ identity: alice, resource: 'db', statement: deleteUsers });
    expect(decision.effect).toBe('deny');
    expect(decision.rule).toBe('no-users-delete');
    expect(decision.reason).toBe('users are deleted by the GDPR job only');
    expect(decision.trace).toEqual([
      { rule: 'no-users-delete', effect: 'deny', why: 'kind delete on public.users' },
      { rule: 'writes-need-approval', effect: 'approve', why: 'kind delete on public.users' },
      { rule: 'second-approve', effect: 'approve', why: 'relation public.users' },
      { rule: 'read-all', effect: 'allow', why: 'kind delete on public.users' },
    ]);
    expect(denialMessage(decision)).toBe('denied by rule no-users-delete: users are deleted by the GDPR job only');

    const orders = statement('delete', { text: 'DELETE FROM orders WHERE id = 1', writes: ['public.orders'] });
    const approve = engine.decide({ identity: alice, resource: 'db', statement: orders });
    expect(approve).toMatchObject({ effect: 'approve', rule: 'writes-need-approval', reason: 'DELETE on public.orders needs approval (rule writes-need-approval)' });
    expect(approve.trace.map((step) => step.rule)).toEqual(['writes-need-approval', 'read-all']);

    // Reading users still needs approval (second-approve names the relation); reading orders does not.
    expect(engine.decide({ identity: alice, resource: 'db', statement: selectUsers })).toMatchObject({ effect: 'approve', rule: 'second-approve' });
    const allow = engine.decide({ identity: alice, resource: 'db', statement: statement('select', { reads: ['public.orders'] }) });
    expect(allow).toEqual({
      effect: 'allow',
      rule: 'read-all',
      reason: 'SELECT on public.orders is allowed (rule read-all)',
      trace: [{ rule: 'read-all', effect: 'allow', why: 'kind select on public.orders' }],
    });
  });

  it('words a generated deny as what it denied, for `denied by rule NAME: …`', () => {
    const engine = engineFor('  - { name: ci-no-ddl, match: { groups: [ci], kinds: [ddl] }, effect: deny }\n');
    const drop = statement('ddl', { text: 'DROP TABLE users', writes: ['public.users'] });
    const decision = engine.decide({ identity: ci, resource: 'db', statement: drop });
    expect(decision).toMatchObject({ effect: 'deny', rule: 'ci-no-ddl', reason: 'DDL on public.users' });
    expect(denialMessage(decision)).toBe('denied by rule ci-no-ddl: DDL on public.users');
  });

  it('matches callers by groups (any of), subjects (globs) and claims (all of, globs, stringified)', () => {
    const engine = engineFor(
      [
        '  - { name: by-group, match: { groups: [nobody, ci] }, effect: allow }',
        '  - { name: by-subject, match: { subjects: ["repo:org/*:ref:refs/heads/main"] }, effect: approve }',
        '  - { name: by-claims, match: { claims: { repository: "org/*", run_attempt: ["1", "2"], fork: "false" } }, effect: deny }',
        '  - { name: claims-miss, match: { claims: { repository: "org/*", environment: "*" } }, effect: deny }',
        '  - { name: subject-miss, match: { subjects: [alice] }, effect: deny }',
      ].join('\n'),
    );
    const decision = engine.decide({ identity: ci, resource: 'db', statement: selectUsers });
    expect(decision.trace).toEqual([
      { rule: 'by-claims', effect: 'deny', why: 'claims repository=org/app, run_attempt=2, fork=false' },
      { rule: 'by-subject', effect: 'approve', why: `subject ${ci.subject}` },
      { rule: 'by-group', effect: 'allow', why: 'groups ci' },
    ]);
    // alice has none of those groups, claims or subject patterns; only her own rule matches.
    expect(engine.decide({ identity: alice, resource: 'db', statement: selectUsers }).trace).toEqual([
      { rule: 'subject-miss', effect: 'deny', why: 'subject alice' },
    ]);
  });

  it('reads a {claim} in a group entry as the group the caller\'s own claims give', () => {
    const engine = engineFor('  - { name: own-repo, match: { groups: ["repo:{repository}"] }, effect: allow }\n');
    expect(engine.decide({ identity: ci, resource: 'db', statement: selectUsers }).trace).toEqual([{ rule: 'own-repo', effect: 'allow', why: 'groups repo:org/app' }]);
    // The claim differs from the group the caller holds, or is missing: no match.
    const otherRepo = { ...ci, claims: { ...ci.claims, repository: 'org/other' } };
    expect(engine.decide({ identity: otherRepo, resource: 'db', statement: selectUsers }).rule).toBe('default');
    expect(engine.decide({ identity: { ...ci, claims: {} }, resource: 'db', statement: selectUsers }).rule).toBe('default');
    // A literal "repo:{repository}" group does not match either (it is a template, not a name).
    expect(engine.decide({ identity: { ...alice, groups: ['repo:{repository}'] }, resource: 'db', statement: selectUsers }).rule).toBe('default');
  });

  it('matches relation globs; restrictive rules ignore case so a deny never misses', () => {
    const engine = engineFor(
      [
        '  - { name: public-read, match: { kinds: [select], relations: ["public.*"] }, effect: allow }',
        '  - { name: any-users, match: { relations: ["*.Users"] }, effect: approve }',
        '  - { name: audit-schema, match: { relations: ["audit.*"] }, effect: deny }',
      ].join('\n'),
    );
    expect(engine.decide({ identity: alice, resource: 'db', statement: statement('select', { reads: ['public.orders'] }) }).rule).toBe('public-read');
    expect(engine.decide({ identity: alice, resource: 'db', statement: statement('select', { reads: ['crm.users'] }) }).rule).toBe('any-users');
    expect(engine.decide({ identity: alice, resource: 'db', statement: selectUsers }).trace.map((step) => step.rule)).toEqual(['any-users', 'public-read']);
    const join = statement('select', { reads: ['public.orders', 'audit.log'] });
    expect(engine.decide({ identity: alice, resource: 'db', statement: join })).toMatchObject({ effect: 'deny', rule: 'audit-schema', reason: 'SELECT on audit.log' });
    // The allow rule must cover every relation: one outside public.* leaves the statement uncovered.
    const outside = statement('select', { reads: ['public.orders', 'crm.accounts'] });
    expect(engine.decide({ identity: alice, resource: 'db', statement: outside })).toMatchObject({
      rule: 'default',
      trace: [{ rule: 'default', effect: 'deny', why: 'no rule matched; public-read does not cover relation crm.accounts' }],
    });
    // Allow rules compare exactly: PUBLIC.orders is a different (quoted) schema.
    expect(engine.decide({ identity: alice, resource: 'db', statement: statement('select', { reads: ['PUBLIC.orders'] }) }).rule).toBe('default');
  });

  it('does not let a plain allow rule cover flagged statements (fail closed)', () => {
    const engine = engineFor('  - { name: app-rw, match: { kinds: [select, delete] }, effect: allow }\n');
    const fn = statement('select', { text: 'SELECT my_fn()', functions: ['my_fn'], flags: ['unknown_function'] });
    const everything = statement('delete', { text: 'DELETE FROM t', writes: ['public.t'], flags: ['no_where'] });
    expect(engine.decide({ identity: alice, resource: 'db', statement: fn })).toEqual({
      effect: 'deny',
      rule: 'default',
      reason: 'no policy rule allows select (flag unknown_function) on db',
      trace: [{ rule: 'default', effect: 'deny', why: 'no rule matched; app-rw does not cover flag unknown_function' }],
    });
    expect(engine.decide({ identity: alice, resource: 'db', statement: everything }).reason).toBe('no policy rule allows delete (flag no_where) on db');

    const withFlags = engineFor(
      [
        '  - { name: app-rw, match: { kinds: [select, delete] }, effect: allow }',
        '  - { name: app-functions, match: { kinds: [select], flags: [unknown_function] }, effect: allow }',
        '  - { name: full-deletes, match: { flags: [no_where] }, effect: approve, session_grant: 1h }',
      ].join('\n'),
    );
    expect(withFlags.decide({ identity: alice, resource: 'db', statement: fn })).toMatchObject({
      effect: 'allow',
      rule: 'app-functions',
      trace: [{ rule: 'app-functions', effect: 'allow', why: 'kind select, flag unknown_function' }],
    });
    expect(withFlags.decide({ identity: alice, resource: 'db', statement: everything })).toEqual({
      effect: 'approve',
      rule: 'full-deletes',
      reason: 'DELETE on public.t without WHERE needs approval (rule full-deletes)',
      trace: [{ rule: 'full-deletes', effect: 'approve', why: 'flag no_where' }],
      sessionGrantMs: 3_600_000,
    });
  });

  it('does not let a select-only allow rule cover a DELETE hidden in a CTE; a delete rule catches it', () => {
    const cte = statement('select', {
      text: 'WITH gone AS (DELETE FROM users RETURNING *) SELECT * FROM gone',
      operations: ['select', 'delete'],
      writes: ['public.users'],
      flags: ['cte_write'],
    });
    const readOnly = engineFor('  - { name: read, match: { kinds: [select], flags: [cte_write] }, effect: allow }\n');
    expect(readOnly.decide({ identity: alice, resource: 'db', statement: cte })).toMatchObject({
      effect: 'deny',
      rule: 'default',
      reason: 'no policy rule allows select+delete (flag cte_write) on db',
      trace: [{ why: 'no rule matched; read does not cover kind delete' }],
    });
    const guarded = engineFor(
      [
        '  - { name: read, match: { kinds: [select] }, effect: allow }',
        '  - { name: deletes, match: { kinds: [delete] }, effect: approve }',
      ].join('\n'),
    );
    expect(guarded.decide({ identity: alice, resource: 'db', statement: cte })).toMatchObject({
      effect: 'approve',
      rule: 'deletes',
      reason: 'DELETE on public.users needs approval (rule deletes)',
      trace: [{ rule: 'deletes', effect: 'approve', why: 'kind delete on public.users' }],
    });
  });

  it('requires every listed dimension of a restrictive rule (DDL on users, not any DDL or any users access)', () => {
    const engine = engineFor(
      [
        '  - { name: all, match: { kinds: [select, ddl] }, effect: allow }',
        '  - { name: no-ddl-on-users, match: { kinds: [ddl], relations: [public.users] }, effect: deny }',
      ].join('\n'),
    );
    expect(engine.decide({ identity: alice, resource: 'db', statement: selectUsers }).rule).toBe('all');
    expect(engine.decide({ identity: alice, resource: 'db', statement: statement('ddl', { writes: ['public.orders'] }) }).rule).toBe('all');
    expect(engine.decide({ identity: alice, resource: 'db', statement: statement('ddl', { writes: ['public.users'] }) }).rule).toBe('no-ddl-on-users');
  });

  it('applies rules only to the resources they name', () => {
    const engine = engineFor(
      [
        '  - { name: other-read, match: { resources: [other-db], kinds: [select] }, effect: allow }',
        '  - { name: star, match: { resources: ["*"], kinds: [insert] }, effect: allow }',
      ].join('\n'),
    );
    expect(engine.decide({ identity: alice, resource: 'other-db', statement: selectUsers }).rule).toBe('other-read');
    expect(engine.decide({ identity: alice, resource: 'db', statement: selectUsers }).rule).toBe('default');
    expect(engine.decide({ identity: alice, resource: 'db', statement: statement('insert') }).rule).toBe('star');
    expect(engine.decide({ identity: alice, resource: 'nope', statement: selectUsers })).toMatchObject({ effect: 'deny', rule: 'default', reason: 'no resource named "nope" is configured' });
  });

  it('fails closed on EXECUTE of an unknown prepared statement and on unparsable SQL', () => {
    const engine = engineFor('  - { name: all, match: {}, effect: allow }\n');
    const execute = statement('select', { text: 'EXECUTE p1', executes: 'p1' });
    expect(engine.decide({ identity: alice, resource: 'db', statement: execute })).toEqual(unknownPreparedDecision('p1'));
    expect(unknownPreparedDecision('p1')).toMatchObject({ effect: 'deny', rule: 'unknown-prepared' });
    const parse = unparsableDecision('syntax error at or near "selec"');
    expect(parse).toEqual({
      effect: 'deny',
      rule: 'parser',
      reason: 'the statement does not parse: syntax error at or near "selec"',
      trace: [{ rule: 'parser', effect: 'deny', why: 'the parser refused the statement' }],
    });
    expect(denialMessage(parse)).toBe('denied: the statement does not parse: syntax error at or near "selec"');
  });

  it('decides a message by its most restrictive statement, tracing each statement by its text', () => {
    const engine = engineFor(
      [
        '  - { name: read, match: { kinds: [select, set] }, effect: allow }',
        '  - { name: deletes, match: { kinds: [delete] }, effect: approve, session_grant: 30m }',
        '  - { name: updates, match: { kinds: [update] }, effect: approve, session_grant: 2h }',
      ].join('\n'),
    );
    const set = statement('set', { text: 'SET   statement_timeout\n = 5000' });
    const update = statement('update', { text: 'UPDATE orders SET paid = true WHERE id = 7 AND customer_id = 12345', writes: ['public.orders'] });
    const decision = engine.decideMessage(alice, 'db', [set, selectUsers, deleteUsers, update]);
    expect(decision).toEqual({
      effect: 'approve',
      rule: 'deletes',
      reason: 'DELETE on public.users needs approval (rule deletes)',
      trace: [
        { rule: 'deletes', effect: 'approve', why: 'DELETE FROM users WHERE id = 1: kind delete on public.users' },
        { rule: 'updates', effect: 'approve', why: 'UPDATE orders SET paid = true WHERE id = 7 AND…: kind update on public.orders' },
        { rule: 'read', effect: 'allow', why: 'SET statement_timeout = 5000: kind set' },
        { rule: 'read', effect: 'allow', why: 'SELECT * FROM users: kind select on public.users' },
      ],
      // The shorter grant: the session grant must suit every statement that needed approval.
      sessionGrantMs: 1_800_000,
    });
    const withDrop = engine.decideMessage(alice, 'db', [selectUsers, statement('ddl', { text: 'DROP TABLE x', writes: ['public.x'] })]);
    expect(withDrop).toMatchObject({ effect: 'deny', rule: 'default', reason: 'no policy rule allows ddl on db' });
    expect(withDrop.trace[0]).toEqual({ rule: 'default', effect: 'deny', why: 'DROP TABLE x: no rule matched; read does not cover kind ddl' });
    // One statement: its own full decision. None: nothing runs, nothing to deny.
    expect(engine.decideMessage(alice, 'db', [deleteUsers])).toEqual(engine.decide({ identity: alice, resource: 'db', statement: deleteUsers }));
    expect(engine.decideMessage(alice, 'db', [])).toMatchObject({ effect: 'allow', rule: 'empty' });
  });

  it('carries session_grant only from approve rules, and drops it when another approving statement has none', () => {
    const engine = engineFor(
      [
        '  - { name: deletes, match: { kinds: [delete] }, effect: approve, session_grant: 10m }',
        '  - { name: inserts, match: { kinds: [insert] }, effect: approve }',
      ].join('\n'),
    );
    expect(engine.decide({ identity: alice, resource: 'db', statement: deleteUsers }).sessionGrantMs).toBe(600_000);
    expect(engine.decide({ identity: alice, resource: 'db', statement: statement('insert') })).not.toHaveProperty('sessionGrantMs');
    expect(engine.decideMessage(alice, 'db', [deleteUsers, statement('insert')])).not.toHaveProperty('sessionGrantMs');
  });

  it('lists the resources a caller may open: those an allow or approve rule could match for it', () => {
    const engine = engineFor(
      [
        '  - { name: ci-db, match: { groups: [ci], resources: [db], kinds: [select] }, effect: allow }',
        '  - { name: dba-approve, match: { groups: [dba], resources: [other-db] }, effect: approve }',
        '  - { name: deny-api, match: { resources: [api] }, effect: deny }',
        '  - { name: repo-api, match: { claims: { repository: "org/*" }, resources: [api] }, effect: allow }',
      ].join('\n'),
    );
    expect(engine.resourcesFor(ci)).toEqual(['db', 'api']);
    expect(engine.resourcesFor(alice)).toEqual(['other-db']);
    expect(engine.resourcesFor({ subject: 'x', groups: [], claims: {} })).toEqual([]);
    expect(engineFor('  - { name: all, match: {}, effect: allow }\n').resourcesFor(alice)).toEqual(['db', 'other-db', 'api']);
  });
});
