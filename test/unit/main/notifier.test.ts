import { describe, expect, it } from 'vitest';
import type { ApiEventMessage } from '../../../proxy/api/api-contract.js';
import type { InboxApproval } from '../../../main/ipc/bridge-types.js';
import { ApprovalNotifier, type ShownNotification } from '../../../main/notify/notifier.js';
import { excerpt, operationOf, requestText } from '../../../main/notify/notification-text.js';

// Which events notify, what the notifications say, grouping when many arrive, do-not-disturb.
// The clock and timers are the test's, so bursts are exact without waiting.

function approval(id: string, overrides: Partial<InboxApproval> = {}): InboxApproval {
  return {
    id,
    sessionId: `S-${id}`,
    resource: 'prod-db',
    protocol: 'postgres',
    requester: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'], claims: {} },
    statement: 'DELETE FROM orders WHERE created_at < now() - interval \'1 year\'',
    statementHash: 'h',
    fingerprint: 'f',
    rule: 'ci-writes',
    reasons: [],
    history: [],
    status: 'pending',
    requestedAt: 1_000,
    expiresAt: 600_000,
    quorum: 1,
    votes: [],
    ...overrides,
  } as InboxApproval;
}

const requested = (a: InboxApproval) => ({ event: 'approval.requested', payload: a }) as ApiEventMessage;
const decided = (a: InboxApproval) => ({ event: 'approval.decided', payload: a }) as ApiEventMessage;

function setup(options: { notifications?: boolean; doNotDisturb?: boolean; focused?: boolean } = {}) {
  const shown: ShownNotification[] = [];
  const closed: string[] = [];
  let now = 10_000;
  const timers: { at: number; run: () => void }[] = [];
  const settings = { notifications: options.notifications ?? true, doNotDisturb: options.doNotDisturb ?? false };
  let focused = options.focused ?? false;
  const notifier = new ApprovalNotifier({
    sink: { show: (n) => shown.push(n), close: (key) => closed.push(key) },
    settings: () => settings,
    windowFocused: () => focused,
    now: () => now,
    timers: { set: (run, ms) => timers.push({ at: now + ms, run }), clear: () => undefined },
    maxSingles: 3,
    burstMs: 10_000,
  });
  return {
    notifier,
    shown,
    closed,
    settings,
    focus: (value: boolean) => (focused = value),
    /** Moves the clock, running the timers that fall due. */
    advance(ms: number) {
      now += ms;
      for (const timer of timers.splice(0)) {
        if (timer.at <= now) timer.run();
        else timers.push(timer);
      }
    },
  };
}

describe('approval notifications', () => {
  it('shows one notification per new request: the operation and resource as title, the caller and statement as body', () => {
    const { notifier, shown } = setup();
    notifier.handle(requested(approval('A1')));
    expect(shown).toEqual([
      {
        key: 'approval-A1',
        title: 'Approval needed: DELETE on prod-db',
        body: "ci-job: DELETE FROM orders WHERE created_at < now() - interval '1 year'",
        target: { approvalId: 'A1' },
      },
    ]);
  });

  it('names a remote gateway, an HTTP request line, and cuts long statements', () => {
    expect(requestText(approval('A1', { origin: 'prod-eu' })).title).toBe('Approval needed: DELETE on prod-db (prod-eu)');
    expect(requestText(approval('A1', { origin: 'This computer' })).title).toBe('Approval needed: DELETE on prod-db');
    expect(operationOf({ protocol: 'http', statement: 'POST /v1/refunds\n\n{"amount": 10}' })).toBe('POST /v1/refunds');
    expect(operationOf({ protocol: 'postgres', statement: '/* job 42 */ -- nightly\n (update t set a = 1)' })).toBe('UPDATE');
    expect(operationOf({ protocol: 'postgres', statement: '' })).toBe('Statement');
    const long = excerpt(`UPDATE t SET note = '${'x'.repeat(500)}'`);
    expect(long).toHaveLength(120);
    expect(long.endsWith('…')).toBe(true);
  });

  it('does not notify twice for one request (a shared queue delivers it from two gateways)', () => {
    const { notifier, shown } = setup();
    notifier.handle(requested(approval('A1')));
    notifier.handle(requested(approval('A1', { origin: 'prod-eu' })));
    expect(shown).toHaveLength(1);
  });

  it('ignores decisions, settled copies, and requests already expired', () => {
    const { notifier, shown } = setup();
    notifier.handle(decided(approval('A1', { status: 'approved' })));
    notifier.handle(requested(approval('A2', { status: 'denied' })));
    notifier.handle(requested(approval('A3', { expiresAt: 5_000 })));
    expect(shown).toEqual([]);
  });

  it('stays quiet with notifications off, in do-not-disturb, and while the window is in front', () => {
    for (const options of [{ notifications: false }, { doNotDisturb: true }, { focused: true }]) {
      const { notifier, shown } = setup(options);
      notifier.handle(requested(approval('A1')));
      expect(shown, JSON.stringify(options)).toEqual([]);
    }
  });

  it('groups a burst: three single notifications, then one for the rest at the end of the burst', () => {
    const { notifier, shown, advance } = setup();
    for (let n = 1; n <= 8; n++) notifier.handle(requested(approval(`A${n}`, { resource: n % 2 ? 'prod-db' : 'billing' })));
    expect(shown.map((n) => n.key)).toEqual(['approval-A1', 'approval-A2', 'approval-A3']);
    advance(9_999);
    expect(shown).toHaveLength(3);
    advance(1);
    expect(shown).toHaveLength(4);
    expect(shown[3]).toEqual({
      key: 'group-1',
      title: '5 more approval requests',
      body: 'DELETE on billing by ci-job\nDELETE on prod-db by ci-job\nDELETE on billing by ci-job\n…and 2 more',
      target: { inbox: true },
    });
    // A new burst starts fresh.
    advance(20_000);
    notifier.handle(requested(approval('B1')));
    expect(shown.at(-1)?.key).toBe('approval-B1');
  });

  it('leaves requests settled meanwhile out of the group, and withdraws a shown one once settled', () => {
    const { notifier, shown, closed, advance } = setup();
    for (let n = 1; n <= 5; n++) notifier.handle(requested(approval(`A${n}`)));
    notifier.handle(decided(approval('A4', { status: 'approved' })));
    notifier.handle(decided(approval('A1', { status: 'denied' })));
    expect(closed).toEqual(['approval-A1']);
    advance(10_000);
    // Only A5 is left of the held ones: shown as itself, not as a group of one.
    expect(shown.at(-1)).toMatchObject({ key: 'approval-A5', target: { approvalId: 'A5' } });
  });

  it('drops a waiting group when do-not-disturb is switched on before it is due', () => {
    const { notifier, shown, settings, advance } = setup();
    for (let n = 1; n <= 6; n++) notifier.handle(requested(approval(`A${n}`)));
    settings.doNotDisturb = true;
    advance(10_000);
    expect(shown).toHaveLength(3);
  });
});
