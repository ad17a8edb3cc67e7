import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { configSchema, type StaticTokenConfig } from '../../../proxy/config/schema.js';
import { STATIC_TOKEN_ISSUER } from '../../../proxy/identity/identity.js';
import { createStaticToken, hashToken, STATIC_TOKEN_PREFIX, StaticTokenVerifier } from '../../../proxy/identity/static-tokens.js';

function tokensConfig(tokens: readonly Record<string, unknown>[]): StaticTokenConfig[] {
  return configSchema.parse({ identity: { tokens } }).identity.tokens;
}

describe('static tokens', () => {
  it('creates prefixed 256-bit tokens that differ every time', () => {
    const first = createStaticToken();
    const second = createStaticToken();
    expect(first.token).toMatch(/^slu_[A-Za-z0-9_-]{43}$/);
    expect(first.token.startsWith(STATIC_TOKEN_PREFIX)).toBe(true);
    expect(Buffer.from(first.token.slice(STATIC_TOKEN_PREFIX.length), 'base64url')).toHaveLength(32);
    expect(first.token).not.toBe(second.token);
    expect(first.sha256).not.toBe(second.sha256);
  });

  it('stores only the sha256 of the token, in the form config accepts', () => {
    const { token, sha256 } = createStaticToken();
    expect(sha256).toBe(createHash('sha256').update(token).digest('hex'));
    expect(hashToken(token)).toBe(sha256);
    expect(sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(sha256).not.toContain(token);
    // The schema takes the hash and has nowhere to put the token.
    expect(tokensConfig([{ name: 'ci', sha256 }])[0]).toEqual({ name: 'ci', sha256, groups: [] });
  });

  it('verifies a created token to its owner', () => {
    const { token, sha256 } = createStaticToken();
    const verifier = new StaticTokenVerifier(tokensConfig([{ name: 'alice', sha256, groups: ['dba', 'approvers'] }]));
    expect(verifier.verify(token)).toEqual({
      subject: 'alice',
      issuer: STATIC_TOKEN_ISSUER,
      groups: ['dba', 'approvers'],
      claims: {},
      method: 'token',
    });
  });

  it('refuses a wrong token', () => {
    const { token, sha256 } = createStaticToken();
    const verifier = new StaticTokenVerifier(tokensConfig([{ name: 'alice', sha256 }]));
    expect(verifier.verify(createStaticToken().token)).toBeUndefined();
    expect(verifier.verify(`${token}x`)).toBeUndefined();
    expect(verifier.verify(token.slice(0, -1))).toBeUndefined();
    expect(verifier.verify('')).toBeUndefined();
    // The hash itself is not a credential.
    expect(verifier.verify(sha256)).toBeUndefined();
  });

  it('tells two tokens apart, each with its own groups', () => {
    const alice = createStaticToken();
    const deploy = createStaticToken();
    const verifier = new StaticTokenVerifier(
      tokensConfig([
        { name: 'alice', sha256: alice.sha256, groups: ['dba', 'approvers'] },
        { name: 'deploy-bot', sha256: deploy.sha256, groups: ['ci'] },
      ]),
    );
    expect(verifier.size).toBe(2);
    expect(verifier.verify(alice.token)).toMatchObject({ subject: 'alice', groups: ['dba', 'approvers'] });
    expect(verifier.verify(deploy.token)).toMatchObject({ subject: 'deploy-bot', groups: ['ci'] });
  });

  it('recognises nothing when no tokens are configured', () => {
    expect(new StaticTokenVerifier([]).verify(createStaticToken().token)).toBeUndefined();
  });

  it('hands out identities that cannot be changed by a later stage', () => {
    const { token, sha256 } = createStaticToken();
    const identity = new StaticTokenVerifier(tokensConfig([{ name: 'alice', sha256, groups: ['dba'] }])).verify(token)!;
    expect(() => (identity.groups as string[]).push('admins')).toThrow(TypeError);
    expect(Object.isFrozen(identity)).toBe(true);
  });
});
