import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventChain, Ledger } from '../../../proxy/audit/event-chain.js';
import { GENESIS_HASH, type ChainedEvent, type LedgerEntry } from '../../../proxy/common/audit-chain-types.js';
import { canonicalJson } from '../../../proxy/common/canonical-json.js';
import { eventHash, eventHashInput, ledgerEntryHash, ledgerHashInput, sha256Hex } from '../../../proxy/common/chain-hash.js';
import { chainHead, verifyLedger, verifySessionEvents, type StoredSessionEnds } from '../../../proxy/common/chain-verify.js';

// Chains here are built with node:crypto from the spec text, independently of the WebCrypto code
// under test, so a mistake shared by writer and verifier cannot hide.
const nodeSha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const T0 = 1_700_000_000_000_000;

function session(id: string, kinds: readonly string[]): ChainedEvent[] {
  const events: ChainedEvent[] = [];
  let prev = GENESIS_HASH;
  kinds.forEach((kind, i) => {
    const fields = { session_id: id, seq: i + 1, time: T0 + i, kind, payload: { i, text: `statement ${i}` } };
    const hash = nodeSha256(prev + canonicalJson(fields));
    events.push({ ...fields, prev_hash: prev, hash });
    prev = hash;
  });
  return events;
}

function ledger(records: readonly (readonly [LedgerEntry['kind'], string, string])[]): LedgerEntry[] {
  const entries: LedgerEntry[] = [];
  let prev = GENESIS_HASH;
  records.forEach(([kind, sessionId, hash], i) => {
    const fields = { n: i + 1, kind, session_id: sessionId, hash, time: T0 + i };
    const entryHash = nodeSha256(prev + canonicalJson(fields));
    entries.push({ ...fields, prev, entry_hash: entryHash });
    prev = entryHash;
  });
  return entries;
}

const ends = (events: readonly ChainedEvent[], ended: boolean): StoredSessionEnds => ({ first: events[0]?.hash, last: events.at(-1)?.hash, ended });

/** Two sessions, A ended and sealed, B still open: the state every ledger test starts from. */
function store(): { a: ChainedEvent[]; b: ChainedEvent[]; entries: LedgerEntry[]; sessions: Map<string, StoredSessionEnds> } {
  const a = session('A', ['connect', 'query', 'disconnect']);
  const b = session('B', ['connect', 'query']);
  const entries = ledger([
    ['start', 'A', a[0]!.hash],
    ['start', 'B', b[0]!.hash],
    ['seal', 'A', a[2]!.hash],
  ]);
  return { a, b, entries, sessions: new Map([['A', ends(a, true)], ['B', ends(b, false)]]) };
}

describe('chain hashes', () => {
  it('match known answers computed from the spec text', async () => {
    const event = { session_id: 'S1', seq: 1, time: T0, kind: 'connect', payload: { user: 'ci', db: 'app' } };
    const eventText = `${GENESIS_HASH}{"kind":"connect","payload":{"db":"app","user":"ci"},"seq":1,"session_id":"S1","time":1700000000000000}`;
    expect(eventHashInput(GENESIS_HASH, event)).toBe(eventText);
    // Pinned as well as recomputed, for other tools implementing docs/audit-format.md.
    expect(await eventHash(GENESIS_HASH, event)).toBe('4b829dbd3bc8d86ebb9d755dd1f779a2ddb08ab3227df90d1f8848180a958fe4');
    expect(await eventHash(GENESIS_HASH, event)).toBe(nodeSha256(eventText));

    const entry = { n: 1, kind: 'start' as const, session_id: 'S1', hash: '4b829dbd3bc8d86ebb9d755dd1f779a2ddb08ab3227df90d1f8848180a958fe4', time: T0 };
    const entryText = `${GENESIS_HASH}{"hash":"${entry.hash}","kind":"start","n":1,"session_id":"S1","time":1700000000000000}`;
    expect(ledgerHashInput(GENESIS_HASH, entry)).toBe(entryText);
    expect(await ledgerEntryHash(GENESIS_HASH, entry)).toBe('cac9e9e1a68d02dd9de500e566aab6f8078ae51de3a590107cdaf46d0c2f7565');
  });

  it('hash only the spec fields, as UTF-8', async () => {
    const [first] = session('Ünïcödé 😀', ['connect']);
    expect(eventHashInput(GENESIS_HASH, first!)).not.toContain('prev_hash');
    expect(await sha256Hex('ünïcödé 😀 \u2028')).toBe(nodeSha256('ünïcödé 😀 \u2028'));
    expect(await eventHash(GENESIS_HASH, first!)).toBe(first!.hash);
  });

  it('refuse a previous hash that is not 64 lowercase hex characters', async () => {
    const [first] = session('A', ['connect']);
    expect(() => eventHashInput('', first!)).toThrow('prev_hash must be a SHA-256 hash as 64 lowercase hex characters');
    await expect(eventHash(GENESIS_HASH.toUpperCase().replace(/0/g, 'A'), first!)).rejects.toThrow('prev_hash must be');
  });
});

describe('verifySessionEvents', () => {
  const events = session('S', ['connect', 'query', 'query', 'query', 'query', 'disconnect']);

  it('passes an intact chain, and an empty one', async () => {
    expect(await verifySessionEvents('S', events)).toBeUndefined();
    expect(await verifySessionEvents('S', [])).toBeUndefined();
  });

  it('passes a chain longer than one hashing batch', async () => {
    expect(await verifySessionEvents('L', session('L', Array.from({ length: 600 }, () => 'query')))).toBeUndefined();
  });

  it('finds a payload edited by one byte', async () => {
    const edited = events.map((event) => (event.seq === 4 ? { ...event, payload: { i: 3, text: 'statement 4' } } : event));
    expect(await verifySessionEvents('S', edited)).toEqual({
      session_id: 'S',
      seq: 4,
      message: 'event 4 (query) was changed after it was recorded: its hash does not match its content',
    });
  });

  it('finds a deleted event', async () => {
    expect(await verifySessionEvents('S', events.filter((event) => event.seq !== 4))).toEqual({
      session_id: 'S',
      seq: 4,
      message: 'event 4 is missing (seq jumps from 3 to 5)',
    });
    expect((await verifySessionEvents('S', events.filter((event) => event.seq > 2)))?.message).toBe('events 1 to 2 are missing (the first is seq 3)');
  });

  it('finds two events swapped', async () => {
    const swapped = [...events.slice(0, 3), events[4]!, events[3]!, events[5]!];
    expect(await verifySessionEvents('S', swapped)).toEqual({ session_id: 'S', seq: 4, message: 'events out of order: seq 5 before 4' });
  });

  it('finds a repeated event', async () => {
    expect((await verifySessionEvents('S', [...events.slice(0, 3), events[2]!, ...events.slice(3)]))?.message).toBe('event 3 is recorded twice');
  });

  it('finds a changed prev_hash, even when the event hash was recomputed to match', async () => {
    const prevHash = 'f'.repeat(64);
    const forged = { ...events[3]!, prev_hash: prevHash, hash: nodeSha256(prevHash + canonicalJson({ ...events[3]!, prev_hash: undefined, hash: undefined })) };
    const changed = events.map((event) => (event.seq === 4 ? forged : event));
    expect(await verifySessionEvents('S', changed)).toEqual({
      session_id: 'S',
      seq: 4,
      message: "event 4: prev_hash does not match event 3's hash (an event before it was removed, reordered or changed)",
    });
  });

  it('finds an event that belongs to another session', async () => {
    expect(await verifySessionEvents('T', events)).toEqual({ session_id: 'T', seq: 1, message: 'event 1 belongs to session S, not T (it was moved between sessions)' });
  });

  it('reports stored data that cannot be hashed instead of throwing', async () => {
    const broken = [{ ...events[0]!, payload: { score: NaN } }];
    expect((await verifySessionEvents('S', broken))?.message).toBe('event 1 (connect) cannot be hashed: canonicalJson: the number NaN at $.payload.score cannot be written as JSON');
  });
});

describe('verifyLedger', () => {
  it('passes a ledger that matches the store', async () => {
    const { entries, sessions } = store();
    expect(await verifyLedger(entries, sessions)).toBeUndefined();
    expect(await verifyLedger([], new Map())).toBeUndefined();
  });

  it('finds a session deleted from the store', async () => {
    const { entries, sessions } = store();
    sessions.delete('B');
    expect(await verifyLedger(entries, sessions)).toEqual({ ledger_n: 2, session_id: 'B', message: 'the ledger records session B, which is missing from the store (deleted)' });
  });

  it('finds a session inserted into the store outside the gateway', async () => {
    const { entries, sessions } = store();
    sessions.set('C', ends(session('C', ['connect']), false));
    expect(await verifyLedger(entries, sessions)).toEqual({ session_id: 'C', message: 'session C is in the store but not in the ledger (inserted outside the gateway)' });
  });

  it('finds a seal that does not match the last stored event', async () => {
    const { a, entries, sessions } = store();
    sessions.set('A', ends(a.slice(0, 2), true));
    expect(await verifyLedger(entries, sessions)).toEqual({
      ledger_n: 3,
      session_id: 'A',
      message: "session A's last event does not match the ledger's seal (events were removed from its end, added after it was sealed, or changed)",
    });
  });

  it('finds a start that does not match the first stored event, and a session emptied', async () => {
    const { b, entries, sessions } = store();
    sessions.set('B', ends(b.slice(1), false));
    expect(await verifyLedger(entries, sessions)).toMatchObject({ ledger_n: 2, session_id: 'B', message: expect.stringContaining("session B's first event does not match") });
    sessions.set('B', ends([], false));
    expect((await verifyLedger(entries, sessions))?.message).toBe('session B has no events in the store, but the ledger recorded its start (its events were deleted)');
  });

  it('finds an ended session with no seal', async () => {
    const { entries, sessions } = store();
    sessions.set('B', { ...sessions.get('B')!, ended: true });
    expect(await verifyLedger(entries, sessions)).toEqual({
      session_id: 'B',
      message: 'session B ended but the ledger has no seal for it (its end was written outside the gateway, or the seal was removed)',
    });
  });

  it('finds a removed, reordered or edited entry', async () => {
    const { entries, sessions } = store();
    expect(await verifyLedger([entries[0]!, entries[2]!], sessions)).toEqual({ ledger_n: 2, message: 'ledger entry 2 is missing (n jumps from 1 to 3)' });
    expect(await verifyLedger([entries[1]!, entries[0]!, entries[2]!], sessions)).toEqual({ ledger_n: 1, message: 'ledger entries out of order: n 2 before 1' });
    const edited = entries.map((entry) => (entry.n === 2 ? { ...entry, time: entry.time + 1 } : entry));
    expect(await verifyLedger(edited, sessions)).toEqual({
      ledger_n: 2,
      session_id: 'B',
      message: 'ledger entry 2 (start of session B) was changed after it was recorded: its entry_hash does not match its content',
    });
    const relinked = entries.map((entry) => (entry.n === 3 ? { ...entry, prev: GENESIS_HASH } : entry));
    expect((await verifyLedger(relinked, sessions))?.message).toBe(
      "ledger entry 3: prev does not match entry 2's entry_hash (an entry before it was removed, reordered or changed)",
    );
  });

  it('gives the head a checkpoint signs', () => {
    const { entries } = store();
    expect(chainHead(entries)).toEqual({ ledger_n: 3, ledger_head: entries[2]!.entry_hash });
    expect(chainHead([])).toEqual({ ledger_n: 0, ledger_head: GENESIS_HASH });
  });
});

describe('the gateway writer and the verifier', () => {
  it('agree: what EventChain and Ledger write verifies', async () => {
    const chain = new EventChain('G');
    const events: ChainedEvent[] = [];
    for (const [kind, payload] of [['connect', { user: 'ci' }], ['query', { sql: 'SELECT 1', at: new Date(0), note: 'é\uD800' }], ['disconnect', {}]] as const) {
      const time = T0 + events.length;
      const hashed = chain.next(kind, time, payload);
      // The store keeps the canonical payload text; a verifier reads it back parsed.
      events.push({ session_id: 'G', seq: hashed.seq, time, kind, payload: JSON.parse(hashed.payload), prev_hash: hashed.prevHash, hash: hashed.hash });
    }
    expect(await verifySessionEvents('G', events)).toBeUndefined();
    const book = new Ledger(0, GENESIS_HASH);
    const entries = [book.append('start', 'G', events[0]!.hash, T0), book.append('seal', 'G', events[2]!.hash, T0 + 9)];
    expect(await verifyLedger(entries, new Map([['G', ends(events, true)]]))).toBeUndefined();
  });
});

describe('proxy/common', () => {
  it('imports nothing from Node, since the renderer runs it in the browser', async () => {
    const folder = resolve(import.meta.dirname, '..', '..', '..', 'proxy', 'common');
    const builtins = new Set(builtinModules);
    const offending: string[] = [];
    for (const name of await readdir(folder, { recursive: true })) {
      if (!/\.[cm]?[jt]sx?$/.test(name)) continue;
      const source = await readFile(resolve(folder, name), 'utf8');
      for (const [, specifier] of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)['"]([^'"]+)['"]/g)) {
        if (specifier!.startsWith('node:') || builtins.has(specifier!.split('/')[0]!)) offending.push(`${name}: ${specifier}`);
      }
      if (/\bBuffer\s*[.(]|\bnew\s+Buffer\b/.test(source)) offending.push(`${name}: uses Buffer`);
    }
    expect(offending).toEqual([]);
  });
});
