import { describe, expect, it } from 'vitest';
import { RATE_WINDOW_MS, StatementRate } from '../../../proxy/limits/statement-rate.js';

describe('statements per minute', () => {
  it('admits up to the limit within a minute, then says how long to wait', () => {
    const rate = new StatementRate(3);
    expect(rate.admit(1_000)).toEqual({ ok: true });
    expect(rate.admit(2_000)).toEqual({ ok: true });
    expect(rate.admit(3_000)).toEqual({ ok: true });
    expect(rate.admit(4_000)).toEqual({ ok: false, retryAfterMs: 57_000 });
    // A refused statement is not counted: the wait does not grow.
    expect(rate.admit(5_000)).toEqual({ ok: false, retryAfterMs: 56_000 });
  });

  it('slides: an admission a full window old no longer counts', () => {
    const rate = new StatementRate(2);
    rate.admit(0);
    rate.admit(30_000);
    expect(rate.admit(RATE_WINDOW_MS - 1).ok).toBe(false);
    expect(rate.admit(RATE_WINDOW_MS).ok).toBe(true);
    expect(rate.admit(RATE_WINDOW_MS + 1)).toEqual({ ok: false, retryAfterMs: 29_999 });
    expect(rate.admit(90_000).ok).toBe(true);
  });

  it('matches a naive count over a long run, across the ring growing and wrapping', () => {
    const limit = 50;
    const rate = new StatementRate(limit);
    let inWindow: number[] = [];
    let now = 0;
    let seed = 7;
    let refused = 0;
    for (let i = 0; i < 5_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      now += seed % 2_000;
      inWindow = inWindow.filter((time) => time > now - RATE_WINDOW_MS);
      const verdict = rate.admit(now);
      const expected = inWindow.length < limit ? { ok: true } : { ok: false, retryAfterMs: inWindow[0]! + RATE_WINDOW_MS - now };
      if (verdict.ok !== expected.ok || (!verdict.ok && verdict.retryAfterMs !== expected.retryAfterMs)) expect({ i, now, verdict }).toEqual({ i, now, verdict: expected });
      if (verdict.ok) inWindow.push(now);
      else refused++;
    }
    // Both paths were exercised.
    expect(refused).toBeGreaterThan(100);
  });

  it('keeps no more times than its limit', () => {
    const rate = new StatementRate(5);
    for (let i = 0; i < 100; i++) rate.admit(i);
    expect(rate.admit(100)).toEqual({ ok: false, retryAfterMs: RATE_WINDOW_MS - 100 });
  });

  it('never asks to wait longer than the window when the clock steps back', () => {
    const rate = new StatementRate(1);
    rate.admit(100_000);
    expect(rate.admit(10_000)).toEqual({ ok: false, retryAfterMs: RATE_WINDOW_MS });
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new StatementRate(0)).toThrow(/positive integer/);
    expect(() => new StatementRate(1.5)).toThrow(/positive integer/);
  });
});
