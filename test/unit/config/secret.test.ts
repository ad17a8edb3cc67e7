import { format, inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../proxy/config/load-config.js';
import { Secret } from '../../../proxy/config/secret.js';

const CANARY = `canary-${Math.random().toString(36).slice(2)}-do-not-leak`;

describe('secret values', () => {
  const secret = new Secret(CANARY, 'env:DB_PASSWORD');

  it('never render their value by accident', () => {
    const renderings = [
      JSON.stringify({ password: secret }),
      JSON.stringify([secret]),
      inspect(secret),
      inspect({ nested: { deep: [secret] } }, { depth: 10, showHidden: true }),
      format('%s %o %O %j', secret, secret, secret, { secret }),
      `${secret}`,
      String(secret),
      'prefix ' + secret,
      new Error(`connect failed with ${secret}`).message,
      new Error('wrapped', { cause: secret }).stack ?? '',
      inspect(new Error('wrapped', { cause: secret })),
      Object.keys(secret).join(','),
      JSON.stringify(Object.entries(secret)),
      JSON.stringify(structuredClone({ a: 1 })), // clone of a plain object stays fine
    ];
    for (const text of renderings) expect(text).not.toContain(CANARY);
    expect(inspect(secret)).toBe('Secret(env:DB_PASSWORD)');
    expect(`${secret}`).toBe('[secret]');
  });

  it('give up their value only through reveal()', () => {
    expect(secret.reveal()).toBe(CANARY);
    expect(secret.occursIn(`error: password ${CANARY} refused`)).toBe(true);
    expect(() => {
      (secret as unknown as { source: string }).source = 'changed';
    }).toThrow();
  });

  it('stay hidden when a whole loaded config is logged or serialized', () => {
    const { config } = parseConfig(
      'resources:\n  - { name: db, type: postgres, upstream: "postgres://app@db/app", password: "${env:PW}" }\n',
      { file: '/x/sluice.yaml', env: { PW: CANARY } },
    );
    expect(JSON.stringify(config)).not.toContain(CANARY);
    expect(inspect(config, { depth: 20 })).not.toContain(CANARY);
    expect(format('%o', config)).not.toContain(CANARY);
  });
});
