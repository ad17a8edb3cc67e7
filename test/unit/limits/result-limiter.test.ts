import { describe, expect, it } from 'vitest';
import { createApprovalBroker } from '../../../proxy/approvals/approval-broker.js';
import type { CallerLimits } from '../../../proxy/limits/caller-limits.js';
import { decodeBackend } from '../../../proxy/postgres/backend-decode.js';
import { errorResponse, readyForQuery } from '../../../proxy/postgres/backend-writer.js';
import { BackendCode } from '../../../proxy/postgres/message-codes.js';
import type { Frame } from '../../../proxy/postgres/message-reader.js';
import { ResultLimiter, type LimitEffect } from '../../../proxy/postgres/result-limiter.js';
import {
  commandComplete,
  copyInResponse,
  dataRow,
  frameOf,
  portalSuspended,
  typed,
  cstring,
} from '../../fixtures/postgres/protocol-messages.js';
import { CollectedRecording } from '../../helpers/collected-recording.js';


const alice = { subject: 'alice', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' as const };
const canceled = () => frameOf(errorResponse({ code: '57014', message: 'canceling statement due to user request' }));
const row = (value = 'x') => frameOf(dataRow([value]));
const done = (tag = 'SELECT 1') => frameOf(commandComplete(tag));
const ready = () => frameOf(readyForQuery('I'));
/** A DataRow of one 'x' is 5 + 2 + 4 + 1 bytes. */
const ROW_BYTES = 12;

function setup(limits: CallerLimits['limits'], onExceed: CallerLimits['onExceed'] = 'deny', delivered: () => Promise<void> = () => Promise.resolve()) {
  const recording = new CollectedRecording();
  const approvals = createApprovalBroker({ timeoutMs: 60_000, quorum: 1, selfApproval: false });
  const cancels: number[] = [];
  const limiter = new ResultLimiter({
    limits: { limits, onExceed },
    sessionId: 'S1',
    resource: 'testdb',
    requester: { subject: 'ci-job', issuer: 'sluice:token', method: 'token', groups: ['ci'], claims: {} },
    approvals,
    recording,
    forRecord: (text) => text.replace('secret', '[redacted]'),
    fingerprint: (text) => `fp:${text}`,
    running: () => ({ text: 'SELECT secret FROM t' }),
    cancelUpstream: () => {
      cancels.push(Date.now());
      return delivered();
    },
  });
  return { limiter, recording, approvals, cancels };
}

/** The message of a replacement error. */
function replaced(effect: LimitEffect): string | undefined {
  if (typeof effect !== 'object' || !('replace' in effect)) return undefined;
  const decoded = decodeBackend(effect.replace);
  return decoded.name === 'error' ? `${decoded.code}: ${decoded.message}` : undefined;
}

const ticks = () => new Promise((resolve) => setImmediate(resolve));

describe('ResultLimiter', () => {
  it('drops rows past the limit, cancels once while the statement runs, and ends it with its own error', async () => {
    const { limiter, recording, cancels } = setup({ rows_per_statement: { value: 2, source: 'ci-export' } });
    expect(limiter.frame(row())).toBeUndefined();
    expect(limiter.frame(row())).toBeUndefined();
    expect(limiter.frame(row())).toBe('drop');
    expect(limiter.frame(row())).toBe('drop');
    await ticks();
    expect(cancels).toHaveLength(1);
    expect(replaced(limiter.frame(canceled()))).toBe('54000: Sluice stopped this result at 2 rows: limit rows_per_statement of rule "ci-export"');
    expect(limiter.frame(ready())).toBeUndefined();
    expect(recording.limits).toEqual([{ limit: 'rows_per_statement', value: 2, rule: 'ci-export', action: 'stopped', rows: 2, text: 'SELECT [redacted] FROM t' }]);
    // The next statement starts at zero.
    expect(limiter.frame(row())).toBeUndefined();
  });

  it('sends no cancel when the statement ended in the frames already read, and skips up to ReadyForQuery', async () => {
    const { limiter, recording, cancels } = setup({ rows_per_statement: { value: 1, source: 'limits' } });
    limiter.frame(row());
    expect(limiter.frame(row())).toBe('drop');
    expect(replaced(limiter.frame(done('SELECT 2')))).toMatch(/^54000: Sluice stopped this result at 1 rows: limit rows_per_statement of the top level of limits$/);
    // The rest of the message: the client believes it failed here.
    expect(limiter.frame(frameOf(typed('T', Buffer.from([0, 0]))))).toBe('drop');
    expect(limiter.frame(row())).toBe('drop');
    expect(limiter.frame(done('INSERT 0 1'))).toBe('drop');
    expect(limiter.frame(frameOf(typed('S', cstring('search_path'), cstring('evil'))))).toBeUndefined();
    const copyIn = limiter.frame(frameOf(copyInResponse(1)));
    expect(copyIn).toEqual({ reply: expect.any(Buffer) });
    expect((copyIn as { reply: Buffer }).reply[0]).toBe(0x66);
    expect(limiter.frame(frameOf(errorResponse({ code: '57014', message: 'COPY from stdin failed' })))).toBe('drop');
    expect(limiter.frame(ready())).toBeUndefined();
    await ticks();
    expect(cancels).toEqual([]);
    expect(limiter.take()).toBeUndefined();
    expect(recording.limits.map((payload) => payload['action'])).toEqual(['stopped', 'discarded']);
    expect(recording.limits[1]).toMatchObject({ tags: ['INSERT 0 1'] });
    expect(limiter.frame(row())).toBeUndefined();
  });

  it('makes ReadyForQuery wait for a cancel still on its way', async () => {
    let deliver = () => {};
    const delivered = new Promise<void>((resolve) => (deliver = resolve));
    const { limiter } = setup({ rows_per_statement: { value: 1, source: 'limits' } }, 'deny', () => delivered);
    limiter.frame(row());
    limiter.frame(row());
    await ticks();
    limiter.frame(canceled());
    limiter.frame(ready());
    const waiting = limiter.take();
    expect(waiting).toBeInstanceOf(Promise);
    deliver();
    await waiting;
    expect(limiter.take()).toBeUndefined();
  });

  it('counts each Execute on its own: PortalSuspended starts the count again', () => {
    const { limiter } = setup({ rows_per_statement: { value: 2, source: 'limits' } });
    limiter.frame(row());
    limiter.frame(row());
    expect(limiter.frame(frameOf(portalSuspended()))).toBeUndefined();
    expect(limiter.frame(row())).toBeUndefined();
    expect(limiter.frame(row())).toBeUndefined();
    expect(limiter.frame(row())).toBe('drop');
  });

  it('counts bytes per statement and per session, and refuses a statement once the session budget is spent', () => {
    const { limiter } = setup({ bytes_per_statement: { value: 3 * ROW_BYTES, source: 'wide' }, bytes_per_session: { value: 5 * ROW_BYTES, source: 'session' } });
    for (let i = 0; i < 3; i++) expect(limiter.frame(row())).toBeUndefined();
    expect(limiter.frame(row())).toBe('drop');
    expect(replaced(limiter.frame(done()))).toBe('54000: Sluice stopped this result at 3 rows: limit bytes_per_statement (36 bytes) of rule "wide"');
    limiter.frame(ready());
    limiter.frame(row());
    limiter.frame(row());
    limiter.frame(done());
    limiter.frame(ready());
    expect(limiter.frame(row())).toBe('drop');
    expect(replaced(limiter.frame(done()))).toBe('54000: Sluice stopped this result at 0 rows: limit bytes_per_session (60 bytes) of rule "session"');
  });

  it('holds at the limit for approval, and lets the statement past it once approved', async () => {
    const { limiter, recording, approvals } = setup({ rows_per_statement: { value: 1, source: 'ci-export' } }, 'approve');
    const first = row();
    limiter.frame(first);
    const over = row();
    const effect = limiter.frame(over);
    if (typeof effect !== 'object' || !('hold' in effect)) throw new Error('expected a hold');
    expect(effect.notice[0]).toBe(BackendCode.NoticeResponse);
    const [approval] = approvals.list({ status: 'pending' });
    expect(approval).toMatchObject({ statement: 'SELECT [redacted] FROM t', rule: 'ci-export', fingerprint: 'fp:SELECT secret FROM t' });
    approvals.decide(approval!.id, alice, { decision: 'approve' });
    await effect.hold;
    expect(limiter.frame(over)).toBeUndefined();
    expect(limiter.frame(row())).toBeUndefined();
    expect(recording.limits.map((payload) => payload['action'])).toEqual(['held', 'approved']);
    expect(approvals.get(approval!.id)?.executedAt).toBeDefined();
    // Lifted for that statement only.
    limiter.frame(done());
    limiter.frame(ready());
    limiter.frame(row());
    expect(limiter.frame(row())).toEqual({ hold: expect.any(Promise), notice: expect.any(Buffer) });
  });

  it('lifts bytes_per_session for the rest of the session once approved', async () => {
    const { limiter, approvals } = setup({ bytes_per_session: { value: ROW_BYTES, source: 'limits' } }, 'approve');
    limiter.frame(row());
    const over = row();
    const effect = limiter.frame(over) as { hold: Promise<void> };
    approvals.decide(approvals.list({ status: 'pending' })[0]!.id, alice, { decision: 'approve' });
    await effect.hold;
    expect(limiter.frame(over)).toBeUndefined();
    limiter.frame(done());
    limiter.frame(ready());
    for (let i = 0; i < 10; i++) expect(limiter.frame(row())).toBeUndefined();
  });

  it('stops the result when approvers deny it, and answers a client cancel as PostgreSQL would', async () => {
    const denied = setup({ rows_per_statement: { value: 1, source: 'ci-export' } }, 'approve');
    denied.limiter.frame(row());
    const over = row();
    const held = denied.limiter.frame(over) as { hold: Promise<void> };
    const id = denied.approvals.list({ status: 'pending' })[0]!.id;
    denied.approvals.decide(id, alice, { decision: 'deny', reason: 'too much' });
    await held.hold;
    expect(denied.limiter.frame(over)).toBe('drop');
    const effect = denied.limiter.frame(canceled()) as { replace: Frame };
    expect(decodeBackend(effect.replace)).toMatchObject({ code: '54000', detail: `approval ${id} denied by alice: too much` });
    expect(denied.recording.limits.map((payload) => payload['action'])).toEqual(['held', 'denied']);

    const cancelled = setup({ rows_per_statement: { value: 1, source: 'ci-export' } }, 'approve');
    cancelled.limiter.frame(row());
    const waiting = cancelled.limiter.frame(over) as { hold: Promise<void> };
    expect(cancelled.limiter.cancel()).toBe(true);
    await waiting.hold;
    expect(cancelled.limiter.frame(over)).toBe('drop');
    await ticks();
    expect(decodeBackend((cancelled.limiter.frame(canceled()) as { replace: Frame }).replace)).toMatchObject({ code: '57014', message: 'canceling statement due to user request' });
    expect(cancelled.cancels).toHaveLength(1);
  });

  it('cancels a pending approval when the session ends, recording nothing after it', async () => {
    const { limiter, approvals, recording } = setup({ rows_per_statement: { value: 1, source: 'limits' } }, 'approve');
    limiter.frame(row());
    const held = limiter.frame(row()) as { hold: Promise<void> };
    limiter.close('the client disconnected');
    await held.hold;
    expect(approvals.list({ status: 'cancelled' })).toHaveLength(1);
    expect(recording.limits.map((payload) => payload['action'])).toEqual(['held']);
  });
});
