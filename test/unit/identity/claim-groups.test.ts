import { describe, expect, it } from 'vitest';
import { AuthError } from '../../../proxy/identity/auth-error.js';
import { expandTemplate, groupsFromClaims, MAX_GROUPS, selectClaims } from '../../../proxy/identity/claim-groups.js';

const GITHUB = {
  repository: 'acme/api',
  environment: 'production',
  job_workflow_ref: 'acme/api/.github/workflows/deploy.yml@refs/heads/main',
  runner_environment: 'github-hosted',
  run_attempt: '1',
};

const TEMPLATES = ['ci', 'repo:{repository}', 'env:{environment}', 'wf:{job_workflow_ref}', 'runner:{runner_environment}'];

describe('groupsFromClaims', () => {
  it('fills templates from claims, literal templates included', () => {
    expect(groupsFromClaims(TEMPLATES, GITHUB)).toEqual([
      'ci',
      'repo:acme/api',
      'env:production',
      'wf:acme/api/.github/workflows/deploy.yml@refs/heads/main',
      'runner:github-hosted',
    ]);
  });

  it.each([
    ['missing', {}],
    ['null', { environment: null }],
    ['an empty string', { environment: '' }],
    ['an object', { environment: { name: 'production' } }],
    ['an empty list', { environment: [] }],
    ['a list of empty strings', { environment: ['', ''] }],
  ])('yields no group when the claim is %s, never "env:"', (_, claims) => {
    const groups = groupsFromClaims(['ci', 'env:{environment}'], claims);
    expect(groups).toEqual(['ci']);
  });

  it('writes numbers and booleans as text', () => {
    expect(groupsFromClaims(['run:{run_number}', 'protected:{ref_protected}'], { run_number: 318, ref_protected: true })).toEqual([
      'run:318',
      'protected:true',
    ]);
  });

  it('expands a list claim into one group per element, skipping empty ones', () => {
    expect(groupsFromClaims(['team:{teams}'], { teams: ['dba', '', 'sre', 'dba'] })).toEqual(['team:dba', 'team:sre']);
  });

  it('takes the cartesian product of several list placeholders', () => {
    expect(expandTemplate('{teams}@{envs}', { teams: ['dba', 'sre'], envs: ['prod', 'stage'] })).toEqual([
      'dba@prod',
      'dba@stage',
      'sre@prod',
      'sre@stage',
    ]);
  });

  it('needs every placeholder of a template', () => {
    expect(expandTemplate('{repository}/{environment}', { repository: 'acme/api' })).toEqual([]);
    expect(expandTemplate('{repository}/{environment}', { repository: 'acme/api', environment: 'prod' })).toEqual(['acme/api/prod']);
  });

  it('deduplicates across templates and keeps their order', () => {
    expect(groupsFromClaims(['ci', 'repo:{repository}', 'ci', 'repo:{repository}', 'env:{environment}'], GITHUB)).toEqual([
      'ci',
      'repo:acme/api',
      'env:production',
    ]);
  });

  it('reads dotted names as a literal key first, then as a path into nested claims', () => {
    expect(groupsFromClaims(['role:{realm_access.roles}'], { realm_access: { roles: ['admin', 'dev'] } })).toEqual(['role:admin', 'role:dev']);
    expect(groupsFromClaims(['x:{a.b}'], { 'a.b': 'literal', a: { b: 'nested' } })).toEqual(['x:literal']);
  });

  it('never reaches inherited properties', () => {
    expect(groupsFromClaims(['x:{constructor}', 'y:{toString}', 'z:{__proto__}'], {})).toEqual([]);
    expect(groupsFromClaims(['x:{a.constructor}'], { a: {} })).toEqual([]);
  });

  it('refuses claims that would expand into too many groups', () => {
    const many = Array.from({ length: 40 }, (_, index) => `v${index}`);
    expect(() => groupsFromClaims(['{a}:{b}'], { a: many, b: many })).toThrow(AuthError);
    expect(40 * 40).toBeGreaterThan(MAX_GROUPS);
  });
});

describe('selectClaims', () => {
  it('keeps only the listed claims with string, number or boolean values', () => {
    const payload = {
      repository: 'acme/api',
      run_id: 7012345678,
      ref_protected: true,
      environment: null,
      groups: ['a', 'b'],
      nested: { a: 1 },
      secret_claim: 'not listed',
    };
    expect(selectClaims(payload, ['repository', 'run_id', 'ref_protected', 'environment', 'groups', 'nested', 'missing'])).toEqual({
      repository: 'acme/api',
      run_id: 7012345678,
      ref_protected: true,
    });
  });

  it('does not pick up inherited properties', () => {
    expect(selectClaims({}, ['constructor', 'toString'])).toEqual({});
  });
});
