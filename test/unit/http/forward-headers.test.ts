import { describe, expect, it } from 'vitest';
import { Secret } from '../../../proxy/config/secret.js';
import { clientResponseHeaders, upstreamPath, upstreamRequestHeaders } from '../../../proxy/http/forward-headers.js';
import type { HttpResource } from '../../../proxy/http/http-resources.js';

function resource(overrides: Partial<HttpResource> = {}): HttpResource {
  return {
    name: 'billing',
    secure: true,
    host: 'billing.internal',
    port: 443,
    hostHeader: 'billing.internal',
    basePath: '/api/v2',
    baseQuery: ['tenant=acme'],
    injection: { kind: 'header', name: 'X-Api-Key', value: new Secret('k-123456789', 'env:K') },
    ...overrides,
  } as HttpResource;
}

describe('headers and paths on the way through', () => {
  it('drops hop-by-hop, caller credentials and forgeable routing headers; injects the credential', () => {
    const headers = upstreamRequestHeaders(
      ['Host', 'gateway', 'Authorization', 'Bearer caller', 'X-API-KEY', 'forged', 'Connection', 'keep-alive, X-Hop', 'X-Hop', '1', 'Accept-Encoding', 'zstd, gzip;q=0.5, *;q=0.1', 'X-Forwarded-For', '1.2.3.4', 'Range', 'bytes=0-1', 'Cookie', 'a=1', 'Cookie', 'b=2', 'Sluice-Anything', 'x'],
      { resource: resource(), contentLength: 12, masking: true },
    );
    expect(headers).toEqual({ Cookie: ['a=1', 'b=2'], Host: 'billing.internal', 'Content-Length': '12', 'Accept-Encoding': 'gzip;q=0.5, gzip;q=0.1, deflate;q=0.1, br;q=0.1', 'X-Api-Key': 'k-123456789' });
  });

  it('builds the upstream path: base path, base query, the caller’s query without the fixed names, the injected parameter', () => {
    const query = resource({ injection: { kind: 'query', name: 'api_key', value: new Secret('k/1 2', 'inline') } });
    expect(upstreamPath(query, '/invoices', 'page=2&api_key=x&Tenant=evil&API%5Fkey=y')).toBe('/api/v2/invoices?tenant=acme&page=2&api_key=k%2F1%202');
    expect(upstreamPath(resource({ baseQuery: [] }), '/x', undefined)).toBe('/api/v2/x');
  });

  it('rewrites upstream locations into gateway paths and masks header values', () => {
    const options = { resource: resource(), rewritten: true, prefix: '/r/billing', maskValue: (value: string) => value.replace('ada@example.com', '****@example.com') };
    const headers = clientResponseHeaders(
      [
        'Location', 'https://billing.internal/api/v2/invoices/7?x=1',
        'Content-Location', '/api/v2/a',
        'Link', '<https://billing.internal/api/v2/next?page=2>; rel="next", <https://docs.example/x>; rel="help"',
        'Connection', 'close, X-Secret',
        'X-Secret', 's',
        'Transfer-Encoding', 'chunked',
        'Content-Length', '10',
        'ETag', '"1"',
        'Alt-Svc', 'h3=":443"',
        'X-User', 'ada@example.com',
        'Set-Cookie', 'a=1',
        'Set-Cookie', 'b=2',
      ],
      options,
    );
    expect(headers).toEqual(['Location', '/r/billing/invoices/7?x=1', 'Content-Location', '/r/billing/a', 'Link', '</r/billing/next?page=2>; rel="next", <https://docs.example/x>; rel="help"', 'X-User', '****@example.com', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
    const elsewhere = clientResponseHeaders(['Location', 'https://sso.example/login', 'Location', 'https://billing.internal/other'], options);
    expect(elsewhere).toEqual(['Location', 'https://sso.example/login', 'Location', '/r/billing/']);
  });
});
