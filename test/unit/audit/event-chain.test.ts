import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EventChain, Ledger } from '../../../proxy/audit/event-chain.js';
import { GENESIS_HASH, type ChainedEvent } from '../../../proxy/common/audit-chain-types.js';
import { eventHashInput } from '../../../proxy/common/chain-hash.js';
import { verifyLedger, verifySessionEvents } from '../../../proxy/common/chain-verify.js';

// The gateway hashes with node:crypto as it records; verifiers (here and in the browser) use
// proxy/common with WebCrypto. Both must agree byte for byte, or every verification fails.

const PAYLOADS = [
  { identity: { subject: 'ci-job', groups: ['ci'] }, resource: 'db', client_address: '127.0.0.1:5', application: null },
  { text: "SELECT 'ünï 😀' AS \"q\"", params: ['a\nb', null], rows: 1, outcome: 'ok', tags: ['SELECT 1'], duration_ms: 0.25 },
  { status: 'closed', counters: { statements: 1, errors: 0, rows: 1 }, z: 1e21, a: -0 },
];

describe('the gateway-side chain', () => {
  it('hashes exactly what the shared spec says, and verifies with the shared verifier', async () => {
    const chain = new EventChain('01J0SESSION');
    const events: ChainedEvent[] = PAYLOADS.map((payload, index) => {
      const hashed = chain.next(['connect', 'query', 'disconnect'][index]!, 1_700_000_000_000_000 + index, payload);
      return { session_id: '01J0SESSION', seq: hashed.seq, time: 1_700_000_000_000_000 + index, kind: ['connect', 'query', 'disconnect'][index]!, payload: JSON.parse(hashed.payload), prev_hash: hashed.prevHash, hash: hashed.hash };
    });
    for (const event of events) {
      const { prev_hash, hash, ...content } = event;
      expect(hash).toBe(createHash('sha256').update(eventHashInput(prev_hash, content)).digest('hex'));
    }
    expect(events[0]!.prev_hash).toBe(GENESIS_HASH);
    expect(await verifySessionEvents('01J0SESSION', events)).toBeUndefined();

    const ledger = new Ledger(0, GENESIS_HASH);
    const entries = [ledger.append('start', '01J0SESSION', events[0]!.hash, 1), ledger.append('seal', '01J0SESSION', events[2]!.hash, 2)];
    expect(await verifyLedger(entries, new Map([['01J0SESSION', { first: events[0]!.hash, last: events[2]!.hash, ended: true }]]))).toBeUndefined();
  });

  it('records a payload JSON cannot hold with the reason, rather than dropping the event', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const hashed = new EventChain('S').next('query', 1, cyclic);
    expect(JSON.parse(hashed.payload)).toEqual({ unrecordable_payload: expect.stringMatching(/.+/) });
  });
});
