import { randomBytes } from 'node:crypto';
import type { Identity } from '../identity/identity.js';

// Browsers cannot set headers on a WebSocket, and a bearer token in its URL would land in
// access logs and history. So an authenticated POST buys a ticket: random, single use, short
// lived, bound to the identity that bought it; the socket presents the ticket instead.

export const TICKET_TTL_MS = 30_000;
/** Outstanding tickets kept at most; the oldest go first (a caller minting in a loop cannot grow memory). */
export const MAX_TICKETS = 10_000;

export interface IssuedTicket {
  readonly ticket: string;
  /** Epoch ms. */
  readonly expiresAt: number;
}

export class TicketBook {
  /** Insertion order is issue order, so expiry and eviction walk from the front. */
  readonly #tickets = new Map<string, { readonly identity: Identity; readonly expiresAt: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  issue(identity: Identity): IssuedTicket {
    this.#sweep();
    while (this.#tickets.size >= MAX_TICKETS) {
      const oldest = this.#tickets.keys().next();
      if (oldest.done) break;
      this.#tickets.delete(oldest.value);
    }
    const ticket = randomBytes(32).toString('base64url');
    // A ticket never outlives the credential that bought it.
    const expiresAt = Math.min(this.#now() + TICKET_TTL_MS, identity.expiresAt ?? Infinity);
    this.#tickets.set(ticket, { identity, expiresAt });
    return { ticket, expiresAt };
  }

  /** The identity the ticket was issued to, once; undefined when unknown, used or expired. */
  redeem(ticket: string): Identity | undefined {
    const entry = this.#tickets.get(ticket);
    if (!entry) return undefined;
    this.#tickets.delete(ticket);
    return entry.expiresAt > this.#now() ? entry.identity : undefined;
  }

  get size(): number {
    return this.#tickets.size;
  }

  #sweep(): void {
    const now = this.#now();
    for (const [ticket, entry] of this.#tickets) {
      // Expiry times can only be out of order when a credential's own expiry cut one short, so
      // stopping at the first live ticket may leave a few dead ones until the next sweep.
      if (entry.expiresAt > now) break;
      this.#tickets.delete(ticket);
    }
  }
}
