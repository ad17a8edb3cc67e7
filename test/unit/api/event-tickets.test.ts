import { describe, expect, it } from 'vitest';
import { MAX_TICKETS, TICKET_TTL_MS, TicketBook } from '../../../proxy/api/event-tickets.js';
import type { Identity } from '../../../proxy/identity/identity.js';

const alice: Identity = { subject: 'alice', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' };

describe('event tickets', () => {
  it('are 32 random bytes, redeemable once, for the identity that bought them', () => {
    const book = new TicketBook();
    const { ticket } = book.issue(alice);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(book.issue(alice).ticket).not.toBe(ticket);
    expect(book.redeem(ticket)).toBe(alice);
    expect(book.redeem(ticket)).toBeUndefined();
    expect(book.redeem('')).toBeUndefined();
  });

  it('expire after 30 s, or when the credential does if that is sooner', () => {
    let now = 1_000_000;
    const book = new TicketBook(() => now);
    const late = book.issue(alice);
    const early = book.issue({ ...alice, expiresAt: now + 5_000 });
    expect(late.expiresAt).toBe(now + TICKET_TTL_MS);
    expect(early.expiresAt).toBe(now + 5_000);
    now += 5_000;
    expect(book.redeem(early.ticket)).toBeUndefined();
    now += TICKET_TTL_MS;
    expect(book.redeem(late.ticket)).toBeUndefined();
  });

  it('keep a bounded number outstanding, dropping expired then oldest ones', () => {
    let now = 0;
    const book = new TicketBook(() => now);
    const first = book.issue(alice);
    for (let i = 1; i < MAX_TICKETS + 10; i++) book.issue(alice);
    expect(book.size).toBe(MAX_TICKETS);
    expect(book.redeem(first.ticket)).toBeUndefined();
    now += TICKET_TTL_MS;
    book.issue(alice);
    expect(book.size).toBe(1);
  });
});
