import type { LimitsConfig } from '../config/schema.js';
import type { Identity } from '../identity/identity.js';
import { limitsFor, limitSetting } from '../limits/caller-limits.js';
import { StatementRate } from '../limits/statement-rate.js';
import { refusal, type Refusal } from './gateway-errors.js';

// limits statements_per_minute on the HTTP gateway: requests per minute, per caller and resource,
// across all of the caller's connections (an HTTP client opens connections freely, so counting
// per connection, as a PostgreSQL session does, would be no limit at all).

/** Callers remembered at once; past it the oldest counter is dropped (its caller starts afresh). */
const MAX_CALLERS = 10_000;

export interface RateRefusal {
  readonly refusal: Refusal;
  /** For the `limit` audit event. */
  readonly event: { readonly limit: 'statements_per_minute'; readonly value: number; readonly rule: string; readonly action: 'refused' };
}

export class RequestRates {
  readonly #counters = new Map<string, StatementRate>();

  constructor(private readonly limits: LimitsConfig) {}

  /** Counts the request against the caller's limit; the refusal when it is past it. */
  admit(identity: Identity, resource: string, now: number = Date.now()): RateRefusal | undefined {
    const limit = limitsFor(this.limits, identity.groups)?.limits.statements_per_minute;
    if (!limit) return undefined;
    const key = `${identity.issuer}\n${identity.subject}\n${resource}\n${limit.value}`;
    let counter = this.#counters.get(key);
    if (!counter) {
      if (this.#counters.size >= MAX_CALLERS) this.#counters.delete(this.#counters.keys().next().value!);
      counter = new StatementRate(limit.value);
      this.#counters.set(key, counter);
    }
    const verdict = counter.admit(now);
    if (verdict.ok) return undefined;
    const seconds = Math.ceil(verdict.retryAfterMs / 1000);
    return {
      refusal: refusal(429, 'rate_limited', `more than ${limit.value} requests a minute to ${resource} (${limitSetting('statements_per_minute', limit.source)}); retry in ${seconds} s`, {
        headers: { 'Retry-After': String(seconds) },
      }),
      event: { limit: 'statements_per_minute', value: limit.value, rule: limit.source, action: 'refused' },
    };
  }
}
