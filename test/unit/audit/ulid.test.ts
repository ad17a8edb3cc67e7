import { describe, expect, it } from 'vitest';
import { isUlid, ulidFactory, ulidTime } from '../../../proxy/audit/ulid.js';

describe('ULIDs', () => {
  it('carry their millisecond time in 26 Crockford base32 characters', () => {
    const id = ulidFactory(() => 1_700_000_000_123)();
    expect(isUlid(id)).toBe(true);
    expect(ulidTime(id)).toBe(1_700_000_000_123);
    expect(ulidFactory(() => 0)().slice(0, 10)).toBe('0000000000');
    expect(ulidFactory(() => 2 ** 48 - 1)().slice(0, 10)).toBe('7ZZZZZZZZZ');
  });

  it('strictly increase within one millisecond and when the clock steps back', () => {
    let now = 1_700_000_000_000;
    const next = ulidFactory(() => now);
    const ids = Array.from({ length: 1_000 }, () => next());
    now -= 5_000;
    ids.push(next(), next());
    now += 10_000;
    ids.push(next());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ulidTime(ids.at(-2)!)).toBe(1_700_000_000_000); // held at the last time rather than going back
  });

  it('are random across milliseconds', () => {
    let now = 1;
    const next = ulidFactory(() => now++);
    const randoms = new Set(Array.from({ length: 100 }, () => next().slice(10)));
    expect(randoms.size).toBe(100);
  });

  it('refuse times outside 48 bits', () => {
    expect(() => ulidFactory(() => 2 ** 48)()).toThrow(RangeError);
    expect(() => ulidFactory(() => -1)()).toThrow(RangeError);
  });
});
