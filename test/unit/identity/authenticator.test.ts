import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../../../proxy/config/schema.js';
import { Authenticator, looksLikeJwt, MAX_CREDENTIAL_LENGTH } from '../../../proxy/identity/authenticator.js';
import { STATIC_TOKEN_ISSUER } from '../../../proxy/identity/identity.js';
import { createStaticToken } from '../../../proxy/identity/static-tokens.js';
import { TestOidcIssuer } from '../../helpers/oidc-issuer.js';
import { expectRefusal } from './expect-refusal.js';

describe('Authenticator', () => {
  let trusted: TestOidcIssuer;
  let untrusted: TestOidcIssuer;
  let authenticator: Authenticator;
  const alice = createStaticToken();

  beforeAll(async () => {
    [trusted, untrusted] = await Promise.all([TestOidcIssuer.start(), TestOidcIssuer.start()]);
    const config = configSchema.parse({
      identity: {
        oidc: [{ issuer: trusted.url, audience: 'sluice', groups: ['ci', 'repo:{repository}'], jwks_cooldown: '0ms' }],
        tokens: [{ name: 'alice', sha256: alice.sha256, groups: ['dba'] }],
      },
    });
    authenticator = new Authenticator(config.identity);
  });

  afterAll(async () => {
    await Promise.all([trusted.close(), untrusted.close()]);
  });

  it('authenticates a JWT from a trusted issuer', async () => {
    await expect(authenticator.authenticate(await trusted.issue())).resolves.toMatchObject({
      subject: 'repo:acme/api:ref:refs/heads/main',
      issuer: trusted.url,
      groups: ['ci', 'repo:acme/api'],
      method: 'oidc',
    });
  });

  it('authenticates a static token', async () => {
    await expect(authenticator.authenticate(alice.token)).resolves.toMatchObject({
      subject: 'alice',
      issuer: STATIC_TOKEN_ISSUER,
      groups: ['dba'],
      method: 'token',
    });
  });

  it('refuses a valid token from an issuer that is not in the allow-list, without contacting it', async () => {
    const token = await untrusted.issue();
    const error = await expectRefusal(authenticator.authenticate(token), 'untrusted_issuer', token);
    expect(error.message).toBe(`issuer "${untrusted.url}" is not trusted (trusted: ${trusted.url})`);
    expect(untrusted.discoveryFetches + untrusted.jwksFetches).toBe(0);
  });

  it('refuses a JWT without iss', async () => {
    const token = await trusted.issue({ iss: undefined });
    await expectRefusal(authenticator.authenticate(token), 'untrusted_issuer', token);
  });

  it('points out an issuer that differs only by a trailing slash', async () => {
    const token = await trusted.issue({ iss: `${trusted.url}/` });
    const error = await expectRefusal(authenticator.authenticate(token), 'untrusted_issuer', token);
    expect(error.message).toMatch(/only by a trailing slash/);
  });

  it('refuses an unknown static token', async () => {
    const token = createStaticToken().token;
    const error = await expectRefusal(authenticator.authenticate(token), 'unknown_token', token);
    expect(error.message).toMatch(/^token not recognised/);
  });

  it('sends alg none down the JWT path, where it is refused', async () => {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const token = `${b64({ alg: 'none' })}.${b64(trusted.claims())}.`;
    await expectRefusal(authenticator.authenticate(token), 'algorithm_not_allowed', token);
  });

  it('refuses empty, oversized and undecodable credentials as malformed', async () => {
    await expectRefusal(authenticator.authenticate(''), 'malformed');
    await expectRefusal(authenticator.authenticate('a'.repeat(MAX_CREDENTIAL_LENGTH + 1)), 'malformed');
    await expectRefusal(authenticator.authenticate('eyJhbGciOiJSUzI1NiJ9.bm90LWpzb24.c2ln'), 'malformed');
  });

  it('tells JWTs from static tokens by shape', () => {
    expect(looksLikeJwt('aaa.bbb.ccc')).toBe(true);
    expect(looksLikeJwt('aaa.bbb.')).toBe(true);
    expect(looksLikeJwt(alice.token)).toBe(false);
    expect(looksLikeJwt('aaa.bbb')).toBe(false);
    expect(looksLikeJwt('a a.b.c')).toBe(false);
  });
});
