import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../proxy/config/load-config.js';
import { httpResources } from '../../../proxy/http/http-resources.js';

function resources(line: string, env: Record<string, string> = { K: 'k-0123456789' }) {
  const { config } = parseConfig(`resources:\n  - ${line}\n`, { file: '/x/sluice.yaml', env });
  return httpResources(config.resources);
}

describe('http resources', () => {
  it('reads the upstream into host, port, base path and fixed query, with the credential forms to scrub', async () => {
    const map = await resources('{ name: api, type: http, upstream: "https://api.internal:8443/v2/?tenant=acme&x=1", inject: { header: X-Key, value: "Bearer ${env:K}" } }');
    const api = map.get('api')!;
    expect({ secure: api.secure, host: api.host, port: api.port, hostHeader: api.hostHeader, basePath: api.basePath, baseQuery: api.baseQuery, bufferLimit: api.bufferLimit, timeoutMs: api.timeoutMs }).toEqual({
      secure: true,
      host: 'api.internal',
      port: 8443,
      hostHeader: 'api.internal:8443',
      basePath: '/v2',
      baseQuery: ['tenant=acme', 'x=1'],
      bufferLimit: 1_048_576,
      timeoutMs: 60_000,
    });
    expect(api.scrubber.scrubText('echo: Bearer k-0123456789 and k-0123456789')).toBe('echo: [secret] and [secret]');
    api.agent.destroy();
  });

  it('refuses what cannot be used, naming the resource and key but never the secret', async () => {
    await expect(resources('{ name: api, type: http, upstream: "http://127.0.0.1:1", ca: /nope.pem }')).rejects.toThrow('resources "api": ca applies to https:// upstreams only');
    await expect(resources('{ name: api, type: http, upstream: "https://x", ca: /nope.pem }')).rejects.toThrow('resources "api": cannot read its ca file /nope.pem (ENOENT)');
    await expect(resources('{ name: api, type: http, upstream: "https://x", inject: { header: Host, value: "${env:K}" } }')).rejects.toThrow('resources "api": inject.header: the gateway sets Host itself');
    await expect(resources('{ name: api, type: http, upstream: "https://x", inject: { header: "Bad Name", value: "${env:K}" } }')).rejects.toThrow('is not an HTTP header name');
    const error = await resources('{ name: api, type: http, upstream: "https://x", inject: { header: X-Key, value: "${env:K}" } }', { K: 'line\nbreak-secret' }).catch((failure: Error) => failure);
    expect((error as Error).message).toBe('resources "api": inject.value: the secret (env:K) holds a line break or control character, so it cannot be sent as a header');
    expect((error as Error).message).not.toContain('break-secret');
  });
});
