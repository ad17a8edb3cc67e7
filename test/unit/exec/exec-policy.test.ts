import { describe, expect, it } from 'vitest';
import { commandLine } from '../../../proxy/common/command-line.js';
import { ConfigError, parseConfig } from '../../../proxy/config/load-config.js';
import type { PolicyRequest } from '../../../proxy/policy/decision.js';
import { argsMatch, compileArgsPattern, execArgsPatternProblem, type ExecCommandClass } from '../../../proxy/policy/exec-command.js';
import { PolicyEngine } from '../../../proxy/policy/policy-engine.js';

const RESOURCES = `
resources:
  - { name: db, type: postgres, upstream: "postgres://app@db.internal/app" }
  - { name: api, type: http, upstream: "https://api.internal" }
  - { name: kube, type: exec, command: [kubectl, --context, prod], env: { TOKEN: "\${env:KUBE_TOKEN}" } }
  - { name: rails, type: exec, command: [bin/rails] }
`;

function parse(lines: readonly string[]) {
  return parseConfig(`${RESOURCES}${lines.join('\n')}\n`, { file: '/x/sluice.yaml', env: { KUBE_TOKEN: 'secret-token-value' } });
}

function engineFor(policy: readonly string[]): PolicyEngine {
  return new PolicyEngine(parse(['policy:', ...policy.map((rule) => `  - ${rule}`)]).config);
}

function problems(lines: readonly string[]): string[] {
  try {
    parse(lines);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  return [];
}

function command(args: readonly string[]): ExecCommandClass {
  const argv = ['kubectl', '--context', 'prod', ...args];
  return { argv, args, text: commandLine(argv) };
}

const ci: PolicyRequest['identity'] = { subject: 'ci-job', groups: ['ci'], claims: {} };

describe('args patterns', () => {
  const matches = (pattern: string, args: readonly string[], ignoreCase = false) => argsMatch(compileArgsPattern(pattern, { ignoreCase }), args);

  it('matches word by word: * within one argument, ** any number of arguments', () => {
    expect(matches('get pods', ['get', 'pods'])).toBe(true);
    expect(matches('get pods', ['get', 'pods', '-A'])).toBe(false);
    expect(matches('get *', ['get', 'deployments'])).toBe(true);
    expect(matches('get *', ['get'])).toBe(false);
    expect(matches('logs web-*', ['logs', 'web-7f9'])).toBe(true);
    expect(matches('get **', ['get'])).toBe(true);
    expect(matches('get **', ['get', 'pods', '-n', 'x'])).toBe(true);
    expect(matches('** --force **', ['delete', 'pod', 'x', '--force'])).toBe(true);
    expect(matches('** --force **', ['delete', 'pod', 'x'])).toBe(false);
    expect(matches("exec 'rails runner' **", ['exec', 'rails runner', 'x'])).toBe(true);
  });

  it('compares case-insensitively only when asked (deny and approve rules)', () => {
    expect(matches('delete **', ['DELETE', 'pod'])).toBe(false);
    expect(matches('delete **', ['DELETE', 'pod'], true)).toBe(true);
  });

  it('says what is wrong with a pattern', () => {
    expect(execArgsPatternProblem('get pods')).toBeUndefined();
    expect(execArgsPatternProblem("exec 'open")).toMatch(/quote/);
    expect(execArgsPatternProblem('  ')).toMatch(/empty/);
    expect(execArgsPatternProblem('get pods**')).toMatch(/"\*\*" inside a word/);
  });
});

describe('exec policy decisions', () => {
  const engine = engineFor([
    '{ name: reads, match: { groups: [ci], resources: [kube], args: ["get **", "describe **", "logs *"] }, effect: allow }',
    '{ name: secrets, match: { resources: [kube], args: ["** secret **", "** secrets **"] }, effect: deny, reason: "secrets stay in the cluster" }',
    '{ name: restarts, match: { groups: [ci], resources: [kube], args: ["rollout restart **"] }, effect: approve, session_grant: 10m }',
    '{ name: sql-reads, match: { groups: [ci], resources: [db], kinds: [select] }, effect: allow }',
  ]);
  const decide = (args: readonly string[], identity = ci) => engine.decideExec({ identity, resource: 'kube', command: command(args) });

  it('allows a command line an allow rule covers', () => {
    expect(decide(['get', 'pods', '-A'])).toMatchObject({ effect: 'allow', rule: 'reads', trace: [{ rule: 'reads', why: 'args get **' }] });
  });

  it('lets the most restrictive match win', () => {
    expect(decide(['get', 'secrets', '-o', 'yaml'])).toMatchObject({ effect: 'deny', rule: 'secrets', reason: 'secrets stay in the cluster' });
    expect(decide(['GET', 'SECRETS'])).toMatchObject({ effect: 'deny', rule: 'secrets' });
  });

  it('holds a command an approve rule matches, with its session grant', () => {
    expect(decide(['rollout', 'restart', 'deploy/web'])).toMatchObject({
      effect: 'approve',
      rule: 'restarts',
      reason: 'command kubectl --context prod rollout restart deploy/web needs approval (rule restarts)',
      sessionGrantMs: 600_000,
    });
  });

  it('denies by default, naming the allow rules that did not cover the command', () => {
    const decision = decide(['delete', 'pod', 'web-1']);
    expect(decision).toMatchObject({ effect: 'deny', rule: 'default', reason: 'no policy rule allows kubectl --context prod delete pod web-1 on kube' });
    expect(decision.trace[0]!.why).toContain('reads does not cover these arguments');
    expect(decide(['get', 'pods'], { subject: 'x', groups: ['other'], claims: {} })).toMatchObject({ effect: 'deny', rule: 'default' });
  });

  it('never applies SQL or HTTP rules to commands, nor exec rules to statements', () => {
    const everything = engineFor(['{ name: any-ci, match: { groups: [ci] }, effect: allow }', '{ name: sql-only, match: { groups: [ci], kinds: [select] }, effect: allow }']);
    expect(everything.decideExec({ identity: ci, resource: 'rails', command: { argv: ['bin/rails', 'c'], args: ['c'], text: 'bin/rails c' } })).toMatchObject({ effect: 'allow', rule: 'any-ci' });
    expect(engine.resourcesFor(ci).sort()).toEqual(['db', 'kube']);
    expect(engine.decideExec({ identity: ci, resource: 'db', command: command([]) })).toMatchObject({ effect: 'deny', reason: 'no exec resource named "db" is configured' });
  });
});

describe('exec config', () => {
  it('refuses args on rules for other resources, or mixed with SQL or HTTP matchers', () => {
    expect(problems(['policy:', '  - { name: a, match: { resources: [db], args: ["x"] }, effect: allow }'])).toEqual([
      'policy[0].match.args: args match commands, but this rule names resources that are not exec: db (postgres); remove args or name only exec resources',
    ]);
    expect(problems(['policy:', '  - { name: a, match: { resources: [kube], args: ["x"], methods: [GET] }, effect: deny }'])).toContainEqual(expect.stringContaining('policy[0].match.args: args match commands of exec resources and methods does not'));
    expect(problems(['policy:', "  - { name: a, match: { args: [\"x 'y\"] }, effect: deny }"])).toContainEqual(expect.stringContaining('quote that is not closed'));
  });

  it('checks generated files and the placeholders naming them', () => {
    const issues = (resource: string) => {
      try {
        parseConfig(`resources:\n  - ${resource}\n`, { file: '/x/sluice.yaml', env: { KUBE_TOKEN: 'secret-token-value' } });
      } catch (error) {
        if (error instanceof ConfigError) return error.issues.map((issue) => `${issue.path}: ${issue.message}`);
        throw error;
      }
      return [];
    };
    expect(issues('{ name: k, type: exec, command: [kubectl, "--kubeconfig={file:kc}"], files: { kc: { content: "${env:KUBE_TOKEN}" } } }')).toEqual([]);
    expect(issues('{ name: k, type: exec, command: [kubectl, "--kubeconfig={file:kubeconfig}"] }')).toEqual(['resources[0].command[1]: names {file:kubeconfig}, but `files` has no kubeconfig']);
    expect(issues('{ name: k, type: exec, command: [kubectl], env: { KUBECONFIG: x }, files: { kc: { content: "${env:KUBE_TOKEN}", env: KUBECONFIG } } }')).toEqual([
      'resources[0].files.kc.env: KUBECONFIG is also set in `env`; set it in one place',
    ]);
    expect(issues('{ name: k, type: exec, command: [kubectl], files: { "../x": { content: y } } }')[0]).toMatch(/^resources\[0\]\.files\.\.\.\/x: /);
  });
});
