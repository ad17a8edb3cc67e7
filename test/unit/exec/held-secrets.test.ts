import { describe, expect, it } from 'vitest';
import { Secret } from '../../../proxy/config/secret.js';
import { heldSecrets, scrubbedForms } from '../../../proxy/exec/held-secrets.js';

// What command output (exec and `sluice run`) is scrubbed of: every secret the config holds, in
// the forms it travels in.

describe('the secrets scrubbed from command output', () => {
  it('finds every Secret in a config, with the forms each travels in', () => {
    const config = {
      resources: [
        { password: new Secret('pg-password-1', 'env:PG') },
        { inject: { value: new Secret('Bearer tok_0123456789abcdef', 'env:API') } },
        { files: { kube: { content: new Secret('apiVersion: v1\nusers:\n- user:\n    token: eyJhbGciOiJSUzI1NiJ9.abcdefgh\n', 'file:/k') } } },
      ],
      audit: { store: new Secret('postgres://sluice:p%40ss-word@db:5432/audit', 'env:STORE') },
    };
    const held = heldSecrets(config);
    expect(held).toEqual(
      expect.arrayContaining(['pg-password-1', 'Bearer tok_0123456789abcdef', 'tok_0123456789abcdef', 'eyJhbGciOiJSUzI1NiJ9.abcdefgh', 'p@ss-word']),
    );
    // A file is scrubbed by its long words, never as one block: its harmless lines stay readable,
    // and what is scrubbed does not depend on how output was cut into chunks.
    expect(held.some((value) => value.includes('\n'))).toBe(false);
    expect(held).not.toContain('apiVersion:');
  });

  it('keeps short words of a one-line secret out: they are ordinary words', () => {
    expect(scrubbedForms('Bearer abc')).toEqual(['Bearer abc']);
    expect(scrubbedForms('  ')).toEqual([]);
  });
});
