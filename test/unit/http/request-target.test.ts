import { describe, expect, it } from 'vitest';
import { parseTarget, pathViews, routeTarget, TargetError } from '../../../proxy/http/request-target.js';

describe('request targets', () => {
  it('routes /r/NAME/... to a resource and a path within it', () => {
    expect(routeTarget('/r/billing/invoices/7?page=2')).toEqual({ resource: 'billing', path: '/invoices/7', query: 'page=2' });
    expect(routeTarget('/r/billing')).toEqual({ resource: 'billing', path: '/', query: undefined });
    expect(routeTarget('/r/billing/')).toEqual({ resource: 'billing', path: '/', query: undefined });
    expect(routeTarget('/r/billing?x')).toEqual({ resource: 'billing', path: '/', query: 'x' });
  });

  it('decodes escaped unreserved characters and keeps (upper-cased) the rest', () => {
    expect(parseTarget('/%61dmin/a%2fb/%7e%20x').path).toBe('/admin/a%2Fb/~%20x');
  });

  it('refuses what an upstream could read another way', () => {
    const refused = [
      'http://evil.example/x',
      '*',
      'evil.example:443',
      '/a/../b',
      '/a/./b',
      '/a/%2e%2e/b',
      '/a/%2E/b',
      '/a%2F..%2Fb',
      '/a%5C..%5Cb',
      '/a%5Cb',
      '//a',
      '/a//b',
      '/a\\b',
      '/a b',
      '/a%00b',
      '/a%zzb',
      '/a%2',
      '/é',
      '/a#frag',
      '/a?b c',
      '/a?%zz',
    ];
    for (const target of refused) expect(() => parseTarget(target), target).toThrow(TargetError);
    expect(() => routeTarget('/x/y')).toThrow(/requests go to \/r\/RESOURCE\/PATH/);
    expect(() => routeTarget('/r/%2e/x')).toThrow(TargetError);
    expect(() => routeTarget('/r/bad%20name/x')).toThrow(/is not a resource name/);
  });

  it('lists the readings deny rules also match', () => {
    expect(pathViews('/Admin%2Fusers;jsessionid=1/')).toEqual(
      expect.arrayContaining(['/Admin/users;jsessionid=1/', '/Admin%2Fusers/', '/Admin%2Fusers', '/Admin/users/', '/Admin/users']),
    );
    expect(pathViews('/plain')).toEqual([]);
  });
});
