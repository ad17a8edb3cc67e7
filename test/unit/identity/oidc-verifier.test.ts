import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type OidcIssuerConfig } from '../../../proxy/config/schema.js';
import { OidcVerifier, type OidcVerifierOptions } from '../../../proxy/identity/oidc-verifier.js';
import { TestOidcIssuer } from '../../helpers/oidc-issuer.js';
import { expectRefusal } from './expect-refusal.js';

const GROUPS = ['ci', 'repo:{repository}', 'env:{environment}', 'wf:{job_workflow_ref}', 'runner:{runner_environment}'];

/** An issuer's config as sluice.yaml would give it: parsed by the real schema, defaults and all. */
function issuerConfig(issuer: string, overrides: Record<string, unknown> = {}): OidcIssuerConfig {
  const config = configSchema.parse({
    identity: { oidc: [{ issuer, audience: 'sluice', groups: GROUPS, jwks_cooldown: '0ms', ...overrides }] },
  });
  return config.identity.oidc[0]!;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A real fetch that counts its calls: instrumentation, not a mock. */
function countingFetch(): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls += 1;
      return fetch(input, init);
    },
    calls: () => calls,
  };
}

describe('OidcVerifier', () => {
  let issuer: TestOidcIssuer;
  let other: TestOidcIssuer;
  let verifier: OidcVerifier;

  beforeAll(async () => {
    [issuer, other] = await Promise.all([TestOidcIssuer.start(), TestOidcIssuer.start()]);
    verifier = new OidcVerifier(issuerConfig(issuer.url));
  });

  afterAll(async () => {
    await Promise.all([issuer.close(), other.close()]);
  });

  it('turns a GitHub Actions token into an identity with groups and the kept claims', async () => {
    const token = await issuer.issue();
    const exp = issuer.claims().exp!;
    const identity = await verifier.verify(token);

    expect(identity).toMatchObject({
      subject: 'repo:acme/api:ref:refs/heads/main',
      issuer: issuer.url,
      method: 'oidc',
      groups: [
        'ci',
        'repo:acme/api',
        'env:production',
        'wf:acme/api/.github/workflows/deploy.yml@refs/heads/main',
        'runner:github-hosted',
      ],
    });
    expect(identity.claims).toMatchObject({ repository: 'acme/api', environment: 'production', ref: 'refs/heads/main', run_attempt: '1' });
    // Only DEFAULT_KEPT_CLAIMS survive: no jti, no iat, no aud.
    expect(identity.claims).not.toHaveProperty('jti');
    expect(identity.claims).not.toHaveProperty('aud');
    expect(Math.abs(identity.expiresAt! - exp * 1_000)).toBeLessThanOrEqual(1_000);
  });

  it('gives no env: group to a job without an environment', async () => {
    const identity = await verifier.verify(await issuer.issue({ environment: undefined }));
    expect(identity.groups).toEqual(['ci', 'repo:acme/api', 'wf:acme/api/.github/workflows/deploy.yml@refs/heads/main', 'runner:github-hosted']);
    expect(identity.groups.some((group) => group.startsWith('env:'))).toBe(false);
  });

  it('refuses an expired token and says when it expired', async () => {
    const token = await issuer.issue({}, { expiresIn: -600 });
    const error = await expectRefusal(verifier.verify(token), 'expired', token);
    expect(error.message).toMatch(/^token expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
  });

  it('refuses a token that is not valid yet beyond the allowed clock skew', async () => {
    const token = await issuer.issue({}, { notBefore: 600, expiresIn: 900 });
    const error = await expectRefusal(verifier.verify(token), 'not_yet_valid', token);
    expect(error.message).toMatch(/not valid before .*clock skew: 60s/);
  });

  it('accepts a token within the clock skew, on either side', async () => {
    await expect(verifier.verify(await issuer.issue({}, { expiresIn: -30 }))).resolves.toMatchObject({ method: 'oidc' });
    await expect(verifier.verify(await issuer.issue({}, { notBefore: 30 }))).resolves.toMatchObject({ method: 'oidc' });
  });

  it('checks validity against the injected clock', async () => {
    const token = await issuer.issue({}, { expiresIn: 300 });
    const later = new OidcVerifier(issuerConfig(issuer.url), { now: () => new Date(Date.now() + 3_600_000) });
    await expectRefusal(later.verify(token), 'expired', token);
  });

  it('refuses a token whose iss differs from the configured issuer, though the issuer signed it', async () => {
    const token = await issuer.issue({ iss: 'https://evil.example' });
    const error = await expectRefusal(verifier.verify(token), 'untrusted_issuer', token);
    expect(error.message).toBe(`issuer "https://evil.example" is not trusted (trusted: ${issuer.url})`);
  });

  it('refuses a token that claims the trusted issuer but was signed by another one', async () => {
    const ownKid = await other.issue({ iss: issuer.url });
    await expectRefusal(verifier.verify(ownKid), 'unknown_key', ownKid);
    // Same kid as the trusted key: the key is found, and the signature does not verify with it.
    const borrowedKid = await other.issue({ iss: issuer.url }, { kid: issuer.activeKid });
    await expectRefusal(verifier.verify(borrowedKid), 'bad_signature', borrowedKid);
  });

  it('refuses a token for another audience', async () => {
    const token = await issuer.issue({ aud: 'someone-else' });
    const error = await expectRefusal(verifier.verify(token), 'wrong_audience', token);
    expect(error.message).toMatch(/^audience "someone-else" does not match the configured audience "sluice"/);
  });

  it('refuses a token whose kid is not in the JWKS', async () => {
    const token = await issuer.issue({}, { kid: 'kid-nobody-published' });
    const error = await expectRefusal(verifier.verify(token), 'unknown_key', token);
    expect(error.message).toMatch(/^no key in the issuer's JWKS matches kid "kid-nobody-published"/);
  });

  it('refuses alg none', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(issuer.claims())}.`;
    const error = await expectRefusal(verifier.verify(token), 'algorithm_not_allowed', token);
    expect(error.message).toBe('algorithm "none" is not allowed: only asymmetric signatures (RS/PS/ES/EdDSA) are accepted');
  });

  it('refuses HS256 signed with the issuer public key as the HMAC secret', async () => {
    const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: issuer.activeKid })}.${b64(issuer.claims())}`;
    for (const secret of [await issuer.publicKeyPem(), JSON.stringify(issuer.publicJwk)]) {
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      const error = await expectRefusal(verifier.verify(token), 'algorithm_not_allowed', token);
      expect(error.message).toMatch(/^algorithm "HS256" is not allowed: only asymmetric signatures/);
    }
  });

  it('refuses an algorithm outside the configured list', async () => {
    const esOnly = new OidcVerifier(issuerConfig(issuer.url, { algorithms: ['ES256'] }));
    const token = await issuer.issue();
    const error = await expectRefusal(esOnly.verify(token), 'algorithm_not_allowed', token);
    expect(error.message).toMatch(/algorithm "RS256" is not allowed for issuer .* \(allowed: ES256\)/);
  });

  it('refuses a tampered payload', async () => {
    const [header, payload, signature] = (await issuer.issue()).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as Record<string, unknown>;
    const token = `${header}.${b64({ ...claims, environment: 'staging', repository: 'acme/payments' })}.${signature}`;
    const error = await expectRefusal(verifier.verify(token), 'bad_signature', token);
    expect(error.message).toBe('signature verification failed');
  });

  it('refuses a token without sub', async () => {
    const token = await issuer.issue({ sub: undefined });
    const error = await expectRefusal(verifier.verify(token), 'missing_claim', token);
    expect(error.message).toMatch(/"sub"/);
  });

  it('refuses a credential that is not a JWT', async () => {
    await expectRefusal(verifier.verify('not-a-jwt'), 'malformed');
  });
});

describe('OidcVerifier key fetching', () => {
  let issuer: TestOidcIssuer;

  beforeAll(async () => {
    issuer = await TestOidcIssuer.start();
  });

  afterAll(async () => {
    await issuer.close();
  });

  it('fetches discovery and the JWKS once, on first use, for concurrent callers', async () => {
    const before = { discovery: issuer.discoveryFetches, jwks: issuer.jwksFetches };
    const verifier = new OidcVerifier(issuerConfig(issuer.url, { jwks_cooldown: '30s' }));
    expect(issuer.discoveryFetches).toBe(before.discovery);

    const tokens = await Promise.all([1, 2, 3, 4, 5].map(() => issuer.issue()));
    await Promise.all(tokens.map((token) => verifier.verify(token)));
    await verifier.verify(await issuer.issue());
    expect(issuer.discoveryFetches - before.discovery).toBe(1);
    expect(issuer.jwksFetches - before.jwks).toBe(1);
  });

  it('picks up a rotated key (new kid) by fetching the JWKS again', async () => {
    const verifier = new OidcVerifier(issuerConfig(issuer.url, { jwks_cooldown: '50ms' }));
    const oldKid = issuer.activeKid;
    await verifier.verify(await issuer.issue());
    const fetches = issuer.jwksFetches;

    const newKid = await issuer.rotate();
    await sleep(60);
    const token = await issuer.issue();
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8'))).toMatchObject({ kid: newKid });
    const identity = await verifier.verify(token);
    expect(identity.subject).toBe('repo:acme/api:ref:refs/heads/main');
    expect(issuer.jwksFetches).toBe(fetches + 1);
    // Tokens signed with the previous key still verify while it stays published.
    await expect(verifier.verify(await issuer.issue({}, { kid: oldKid }))).resolves.toMatchObject({ method: 'oidc' });
    expect(issuer.jwksFetches).toBe(fetches + 1);
  });

  it('does not refetch the JWKS for unknown kids within the cooldown', async () => {
    const verifier = new OidcVerifier(issuerConfig(issuer.url, { jwks_cooldown: '30s' }));
    await verifier.verify(await issuer.issue());
    const fetches = issuer.jwksFetches;
    for (const kid of ['random-1', 'random-2', 'random-3']) {
      await expectRefusal(verifier.verify(await issuer.issue({}, { kid })), 'unknown_key');
    }
    expect(issuer.jwksFetches).toBe(fetches);
  });

  it('verifies offline from jwks_file, without any request to the issuer', async () => {
    const offline = await TestOidcIssuer.start();
    const dir = await mkdtemp(join(tmpdir(), 'sluice-jwks-'));
    try {
      const file = join(dir, 'jwks.json');
      await writeFile(file, JSON.stringify(offline.jwks));
      const token = await offline.issue();
      await offline.stop();

      const verifier = new OidcVerifier(issuerConfig(offline.url, { jwks_file: file }));
      await expect(verifier.verify(token)).resolves.toMatchObject({ issuer: offline.url, method: 'oidc' });
      expect(offline.discoveryFetches + offline.jwksFetches).toBe(0);
    } finally {
      await offline.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('explains an unreadable jwks_file', async () => {
    const verifier = new OidcVerifier(issuerConfig(issuer.url, { jwks_file: '/nonexistent/jwks.json' }));
    const error = await expectRefusal(verifier.verify(await issuer.issue()), 'issuer_misconfigured');
    expect(error.message).toMatch(/cannot read the JWKS file \/nonexistent\/jwks.json \(ENOENT\)/);
  });

  it('refuses keys whose discovery document names a different issuer', async () => {
    const impostor = await TestOidcIssuer.start();
    try {
      impostor.discoveryIssuer = 'https://token.actions.githubusercontent.com';
      const verifier = new OidcVerifier(issuerConfig(impostor.url));
      const token = await impostor.issue();
      const error = await expectRefusal(verifier.verify(token), 'issuer_misconfigured', token);
      expect(error.message).toContain(`names issuer "https://token.actions.githubusercontent.com", not the configured issuer "${impostor.url}"`);
      expect(impostor.jwksFetches).toBe(0);
    } finally {
      await impostor.close();
    }
  });

  it('handles an issuer configured with a trailing slash', async () => {
    const slashed = await TestOidcIssuer.start();
    try {
      slashed.discoveryIssuer = `${slashed.url}/`;
      const verifier = new OidcVerifier(issuerConfig(`${slashed.url}/`));
      const identity = await verifier.verify(await slashed.issue({ iss: `${slashed.url}/` }));
      expect(identity.issuer).toBe(`${slashed.url}/`);
      expect(slashed.discoveryFetches).toBe(1);
    } finally {
      await slashed.close();
    }
  });

  it('uses discovery_url when configured', async () => {
    const verifier = new OidcVerifier(
      issuerConfig(issuer.url, { discovery_url: `${issuer.url}/.well-known/openid-configuration` }),
    );
    await expect(verifier.verify(await issuer.issue())).resolves.toMatchObject({ method: 'oidc' });
    const missing = new OidcVerifier(issuerConfig(issuer.url, { discovery_url: `${issuer.url}/no-such-document` }));
    const error = await expectRefusal(missing.verify(await issuer.issue()), 'issuer_unreachable');
    expect(error.message).toMatch(/discovery document .*\(HTTP 404\)/);
  });

  it('reports an issuer that is down, and recovers once it is back', async () => {
    const flaky = await TestOidcIssuer.start();
    try {
      const verifier = new OidcVerifier(issuerConfig(flaky.url, { jwks_cooldown: '50ms' }));
      const token = await flaky.issue();
      await flaky.stop();
      const error = await expectRefusal(verifier.verify(token), 'issuer_unreachable', token);
      expect(error.message).toMatch(/^cannot fetch the issuer's discovery document from .*ECONNREFUSED/);

      await flaky.restart();
      await sleep(60);
      await expect(verifier.verify(token)).resolves.toMatchObject({ issuer: flaky.url });
    } finally {
      await flaky.close();
    }
  });

  it('tries an unreachable issuer at most once per cooldown', async () => {
    const down = await TestOidcIssuer.start();
    try {
      const counter = countingFetch();
      const options: OidcVerifierOptions = { fetch: counter.fetch };
      const verifier = new OidcVerifier(issuerConfig(down.url, { jwks_cooldown: '30s' }), options);
      const token = await down.issue();
      await down.stop();
      for (let attempt = 0; attempt < 5; attempt += 1) {
        await expectRefusal(verifier.verify(token), 'issuer_unreachable', token);
      }
      expect(counter.calls()).toBe(1);
    } finally {
      await down.close();
    }
  });

  it('reports a JWKS that cannot be fetched after discovery worked', async () => {
    const flaky = await TestOidcIssuer.start();
    try {
      const verifier = new OidcVerifier(issuerConfig(flaky.url, { jwks_cooldown: '0ms' }));
      const token = await flaky.issue();
      flaky.jwksStatus = 503;
      const error = await expectRefusal(verifier.verify(token), 'issuer_unreachable', token);
      expect(error.message).toMatch(/^cannot fetch the issuer's JWKS from .*\/jwks \(HTTP 503\)/);
      expect(flaky.discoveryFetches).toBe(1);

      flaky.jwksStatus = undefined;
      await expect(verifier.verify(token)).resolves.toMatchObject({ method: 'oidc' });
      // Discovery succeeded once and is not repeated.
      expect(flaky.discoveryFetches).toBe(1);
    } finally {
      await flaky.close();
    }
  });
});
