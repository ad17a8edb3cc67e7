import { resolve } from 'node:path';
import { loadConfig } from '../../proxy/config/load-config.js';
import type { OidcIssuerConfig, StaticTokenConfig } from '../../proxy/config/schema.js';
import { DEFAULT_KEPT_CLAIMS } from '../../proxy/config/schema.js';
import { Authenticator } from '../../proxy/identity/authenticator.js';
import { createStaticToken } from '../../proxy/identity/static-tokens.js';
import { TestOidcIssuer } from '../helpers/oidc-issuer.js';
import { measure, type BenchResult } from './measure.js';

// Authentication runs once per connection (PostgreSQL) or request (HTTP, MCP), so it bounds how
// fast CI jobs can open sessions. Measured through the public Authenticator, keys over real HTTP.

export async function identityBenchmarks(): Promise<BenchResult[]> {
  const results: BenchResult[] = [];

  // 200 configured tokens: every presented token is compared against all of them (constant time).
  const created = Array.from({ length: 200 }, () => createStaticToken());
  const tokens: StaticTokenConfig[] = created.map((token, index) => ({ name: `t${index}`, sha256: token.sha256, groups: ['ci'] }));
  const issuer = await TestOidcIssuer.start();
  try {
    const oidc: OidcIssuerConfig = {
      issuer: issuer.url,
      audience: 'sluice',
      groups: ['ci', 'repo:{repository}', 'env:{environment}', 'wf:{job_workflow_ref}'],
      claims: [...DEFAULT_KEPT_CLAIMS],
      clock_skew: 60_000,
      jwks_cooldown: 30_000,
    };
    const authenticator = new Authenticator({ oidc: [oidc], tokens });
    const lastToken = created.at(-1)!.token;
    results.push(await measure('static token, 200 configured', () => authenticator.authenticate(lastToken)));

    const jwt = await issuer.issue({}, { expiresIn: 3_600 });
    await authenticator.authenticate(jwt); // first call fetches discovery + JWKS
    results.push(await measure('OIDC JWT (RS256, JWKS cached)', () => authenticator.authenticate(jwt)));
  } finally {
    await issuer.close();
  }

  const example = resolve(import.meta.dirname, '../../docs/sluice.example.yaml');
  const env = { PROD_DB_PASSWORD: 'bench', BILLING_TOKEN: 'bench' };
  results.push(await measure('load + validate docs/sluice.example.yaml', () => loadConfig(example, { env })));
  return results;
}
