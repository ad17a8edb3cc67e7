/** The window statements_per_minute counts over. */
export const RATE_WINDOW_MS = 60_000;

export type RateVerdict = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

const ADMITTED: RateVerdict = { ok: true };
const INITIAL_CAPACITY = 16;

/**
 * A sliding-window counter: at most `limit` admissions in any 60 s. It keeps the times of the
 * admissions still inside the window in a ring that grows (doubling) up to `limit` entries and
 * no further, so a session's memory is bounded by its limit and a quiet session's stays small.
 * Only admissions are counted: a refused statement never ran.
 */
export class StatementRate {
  #times: Float64Array;
  /** Index of the oldest admission kept. */
  #head = 0;
  #count = 0;

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`statements_per_minute must be a positive integer, not ${limit}`);
    this.#times = new Float64Array(Math.min(limit, INITIAL_CAPACITY));
  }

  admit(now: number = Date.now()): RateVerdict {
    const times = this.#times;
    // Admissions a full window ago no longer count.
    while (this.#count > 0 && times[this.#head]! <= now - RATE_WINDOW_MS) {
      this.#head = (this.#head + 1) % times.length;
      this.#count--;
    }
    if (this.#count >= this.limit) {
      // A clock stepping backwards must not promise a wait longer than the window.
      return { ok: false, retryAfterMs: Math.min(RATE_WINDOW_MS, Math.max(1, times[this.#head]! + RATE_WINDOW_MS - now)) };
    }
    if (this.#count === times.length) this.#grow();
    this.#times[(this.#head + this.#count) % this.#times.length] = now;
    this.#count++;
    return ADMITTED;
  }

  #grow(): void {
    const old = this.#times;
    const grown = new Float64Array(Math.min(this.limit, old.length * 2));
    for (let i = 0; i < this.#count; i++) grown[i] = old[(this.#head + i) % old.length]!;
    this.#times = grown;
    this.#head = 0;
  }
}
