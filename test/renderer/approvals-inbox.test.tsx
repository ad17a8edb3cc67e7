// @vitest-environment jsdom
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiEventMessage, ApiResult, Approval, WhoAmI } from '../../proxy/api/api-contract.js';
import type { ConnectionState, EngineClient } from '../../renderer/src/engine-client.js';
import { ApprovalsScreen, LOOK_FIRST_MS } from '../../renderer/src/screens/approvals/approvals-screen.js';
import { useApprovals } from '../../renderer/src/screens/approvals/use-approvals.js';

// The approvals inbox against an in-memory engine that behaves like the broker for what the
// screen sees: list, get, decide (deny needs a reason, no self-approval, quorum) and the events.

const ALICE: WhoAmI = { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['approvers'], roles: ['approvers'] };

let serial = 0;
function request(overrides: Partial<Approval> = {}): Approval {
  serial++;
  return {
    id: `ap-${serial}`,
    sessionId: `sess-${serial}`,
    resource: 'prod-db',
    protocol: 'postgres',
    requester: {
      subject: 'ci-job',
      issuer: 'https://token.actions.githubusercontent.com',
      method: 'oidc',
      groups: ['ci', 'repo:acme/shop'],
      claims: { repository: 'acme/shop', ref: 'refs/heads/main', environment: 'production', run_id: '9912', sha: 'abc123' },
    },
    statement: `DELETE FROM orders WHERE id = ${serial}`,
    statementHash: 'h'.repeat(64),
    fingerprint: 'fp',
    rule: 'deletes-need-approval',
    reasons: ['deletes-need-approval: deletes need a second pair of eyes', 'ci-read: groups ci'],
    history: ['SELECT count(*) FROM orders'],
    status: 'pending',
    requestedAt: Date.now() - 5_000,
    expiresAt: Date.now() + 5 * 60_000,
    quorum: 1,
    votes: [],
    ...overrides,
  };
}

class FakeEngine {
  readonly label = 'fake engine';
  readonly approvals = new Map<string, Approval>();
  readonly decideCalls: Record<string, unknown>[] = [];
  readonly #listeners = new Set<(message: ApiEventMessage) => void>();
  readonly #states = new Set<(state: ConnectionState) => void>();
  listCalls = 0;
  state: ConnectionState = 'live';
  /** While set, list answers (taken when asked) are held back until it resolves. */
  listGate: Promise<void> | undefined;

  /** A request the gateway holds: stored, and announced to subscribers. */
  hold(approval: Approval): Approval {
    this.approvals.set(approval.id, approval);
    this.emit({ event: 'approval.requested', payload: approval });
    return approval;
  }

  emit(message: ApiEventMessage): void {
    act(() => {
      for (const listener of this.#listeners) listener(message);
    });
  }

  setConnection(state: ConnectionState): void {
    this.state = state;
    act(() => {
      for (const listener of this.#states) listener(state);
    });
  }

  async call(method: string, input: Record<string, unknown>): Promise<ApiResult<unknown>> {
    switch (method) {
      case 'approvals.list': {
        this.listCalls++;
        const all = [...this.approvals.values()].filter((a) => input.status === undefined || a.status === input.status);
        await this.listGate;
        return { ok: true, value: all.reverse() };
      }
      case 'approvals.get': {
        const found = this.approvals.get(String(input.id));
        return found ? { ok: true, value: found } : { ok: false, error: { code: 'not_found', message: `there is no approval ${String(input.id)}` } };
      }
      case 'approvals.decide':
        this.decideCalls.push(input);
        return this.#decide(input);
      default:
        return { ok: false, error: { code: 'not_found', message: `the fake engine has no ${method}` } };
    }
  }

  #decide(input: Record<string, unknown>): ApiResult<Approval> {
    const current = this.approvals.get(String(input.id));
    if (!current) return { ok: false, error: { code: 'not_found', message: 'gone' } };
    if (current.status !== 'pending') return { ok: false, error: { code: 'conflict', message: `approval ${current.id} is already ${current.status}` } };
    if (current.requester.subject === ALICE.subject) return { ok: false, error: { code: 'forbidden', message: `alice asked for approval ${current.id} and cannot decide it: another approver must` } };
    if (input.decision === 'deny' && !String(input.reason ?? '').trim()) return { ok: false, error: { code: 'invalid_input', message: 'denying needs a reason' } };
    const vote = { approver: { subject: ALICE.subject, issuer: ALICE.issuer }, decision: input.decision as 'approve' | 'deny', scope: (input.scope ?? 'once') as 'once' | 'session', at: Date.now(), ...(input.reason !== undefined && { reason: String(input.reason) }) };
    const votes = [...current.votes, vote];
    if (current.votes.some((v) => v.approver.subject === ALICE.subject)) return { ok: false, error: { code: 'conflict', message: `alice already approved ${current.id}` } };
    const settled = input.decision === 'deny' || votes.filter((v) => v.decision === 'approve').length >= current.quorum;
    const next: Approval = settled
      ? { ...current, votes, status: input.decision === 'deny' ? 'denied' : 'approved', decidedAt: Date.now(), ...(input.reason !== undefined && { reason: String(input.reason) }) }
      : { ...current, votes };
    this.approvals.set(next.id, next);
    if (settled) queueMicrotask(() => this.emit({ event: 'approval.decided', payload: next }));
    return { ok: true, value: next };
  }

  subscribe(listener: (message: ApiEventMessage) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  onConnection(listener: (state: ConnectionState) => void): () => void {
    this.#states.add(listener);
    listener(this.state);
    return () => this.#states.delete(listener);
  }

  close(): void {}
}

function Inbox({ client, whoami }: { client: EngineClient; whoami: WhoAmI }) {
  const approvals = useApprovals(client, true);
  return <ApprovalsScreen client={client} whoami={whoami} approvals={approvals} />;
}

function renderInbox(engine: FakeEngine, whoami: WhoAmI = ALICE) {
  // The fake implements EngineClient's methods; its `call` is not generic over method names.
  const client = engine as unknown as EngineClient;
  return render(<Inbox client={client} whoami={whoami} />);
}

/** Shortcuts act only on a request that has been on screen a moment (LOOK_FIRST_MS). */
const look = () => new Promise((resolve) => setTimeout(resolve, LOOK_FIRST_MS + 50));

const detail = () => screen.getByRole('article');

describe('approvals inbox', () => {
  let engine: FakeEngine;
  beforeEach(() => {
    engine = new FakeEngine();
    history.replaceState(null, '', '#/approvals');
  });
  afterEach(() => {
    cleanup();
    vi.unstubAllGlobals();
  });

  it('says what to do when nothing waits, then shows a request the moment its event arrives', async () => {
    renderInbox(engine);
    await screen.findByText('No requests waiting');
    expect(screen.getByText(/appear here the moment a gateway holds them/)).toBeTruthy();

    engine.hold(request({ statement: 'DELETE FROM orders WHERE id = 42', params: ['42', null] }));
    const card = await screen.findByRole('article');
    expect(within(card).getByRole('heading', { level: 2 }).textContent).toBe('DELETE on prod-db');
    expect(within(within(card).getByRole('region', { name: 'Statement' })).getByTestId('sql').textContent).toBe('DELETE FROM orders WHERE id = 42');
    const risk = within(card).getByRole('region', { name: 'Why approval is needed' });
    expect(risk.textContent).toContain('Held by rule deletes-need-approval');
    expect(within(risk).getByRole('listitem').textContent).toBe('deletes need a second pair of eyes');
    // Other rules that matched (the allow this rule overrides) are told apart from the reason.
    expect(risk.textContent).toContain('Also matched: ci-read (groups ci)');
    // The requester and the CI claims that say which pipeline asks.
    const who = within(card).getByRole('region', { name: 'Requested by' });
    expect(who.textContent).toContain('ci-job');
    expect(who.textContent).toContain('acme/shop');
    expect(who.textContent).toContain('refs/heads/main');
    expect(who.textContent).toContain('production');
    expect(within(card).getByRole('table', { name: 'Bound parameters' }).textContent).toContain('NULL');
    expect(within(card).getByRole('region', { name: 'Earlier in this session' }).textContent).toContain('SELECT count(*) FROM orders');
    expect(within(card).getByText(/0 of 1 approval/)).toBeTruthy();
    expect(screen.getByRole('listbox', { name: 'Waiting requests' }).children).toHaveLength(1);
  });

  it('shows the rule reason as the headline, the holding gateway, and an HTTP request line without SQL highlighting', async () => {
    renderInbox(engine);
    engine.hold(request({ protocol: 'http', statement: 'DELETE /r/billing/refunds/7', ruleReason: 'refunds need a second pair of eyes', gateway: 'kid-gw-2' }));
    const card = await screen.findByRole('article');
    const risk = within(card).getByRole('region', { name: 'Why approval is needed' });
    expect(risk.querySelector('.risk-headline')?.textContent).toBe('refunds need a second pair of eyes');
    expect(within(card).getByRole('region', { name: 'Where' }).textContent).toContain('kid-gw-2');
    const statement = within(within(card).getByRole('region', { name: 'Statement' })).getByTestId('sql');
    expect(statement.textContent).toBe('DELETE /r/billing/refunds/7');
    // DELETE is an HTTP method here, not a SQL keyword.
    expect(statement.querySelector('.sql-keyword')).toBeNull();
  });

  it('shows a live countdown that turns urgent in the last minute', async () => {
    engine.approvals.set('calm', request({ id: 'calm', expiresAt: Date.now() + 4 * 60_000 + 30_000 }));
    engine.approvals.set('soon', request({ id: 'soon', expiresAt: Date.now() + 30_500 }));
    renderInbox(engine);
    const card = await screen.findByRole('article');
    // Soonest expiry on top, and selected first.
    expect(card.getAttribute('data-approval-detail')).toBe('soon');
    const timer = within(card).getByRole('timer');
    expect(timer.textContent).toMatch(/0:3\d left/);
    expect(timer.className).toContain('countdown-urgent');
    const calm = screen.getAllByRole('option')[1]!;
    expect(within(calm).getByRole('timer').textContent).toMatch(/4:(2\d|30)/);
    expect(within(calm).getByRole('timer').className).toContain('countdown-normal');
    // It ticks.
    const before = timer.textContent;
    await waitFor(() => expect(within(card).getByRole('timer').textContent).not.toBe(before), { timeout: 2_500 });
  });

  it('approves with the selected request id and moves it to the history', async () => {
    const held = engine.hold(request());
    renderInbox(engine);
    const card = await screen.findByRole('article');
    await userEvent.click(within(card).getByRole('button', { name: /Approve once/ }));
    expect(engine.decideCalls).toEqual([{ id: held.id, decision: 'approve', scope: 'once' }]);
    await screen.findByText('No requests waiting');
    const history = screen.getByRole('region', { name: /History/ });
    const row = within(history).getAllByRole('row')[1]!;
    expect(row.textContent).toContain('Approved');
    expect(row.textContent).toContain('alice');
    expect(row.textContent).toContain('DELETE on prod-db');
    expect(document.body.textContent).toContain('Approved: DELETE on prod-db by ci-job');
  });

  it('sends no deny without a reason, and sends the typed reason with Enter', async () => {
    const held = engine.hold(request());
    renderInbox(engine);
    const card = await screen.findByRole('article');
    await userEvent.click(within(card).getByRole('button', { name: /Deny/ }));
    const reason = within(card).getByLabelText(/Why deny/);
    expect(document.activeElement).toBe(reason);
    await userEvent.click(within(card).getByRole('button', { name: 'Deny request' }));
    expect(engine.decideCalls).toEqual([]);
    expect(within(card).getByText(/Write a reason first/)).toBeTruthy();

    await userEvent.type(reason, 'run it against staging first{Enter}');
    expect(engine.decideCalls).toEqual([{ id: held.id, decision: 'deny', reason: 'run it against staging first' }]);
    await screen.findByText('No requests waiting');
    const row = within(screen.getByRole('region', { name: /History/ })).getAllByRole('row')[1]!;
    expect(row.textContent).toContain('Denied');
    expect(row.textContent).toContain('run it against staging first');
  });

  it('decides from the keyboard: j/k select, a approves, d opens the reason, Esc cancels, typed keys stay text', async () => {
    const first = engine.hold(request({ expiresAt: Date.now() + 60_000 * 3 }));
    const second = engine.hold(request({ expiresAt: Date.now() + 60_000 * 4 }));
    renderInbox(engine);
    await screen.findByRole('article');
    expect(detail().getAttribute('data-approval-detail')).toBe(first.id);
    await userEvent.keyboard('j');
    expect(detail().getAttribute('data-approval-detail')).toBe(second.id);
    await userEvent.keyboard('{ArrowUp}');
    expect(detail().getAttribute('data-approval-detail')).toBe(first.id);

    // Too soon after it came on screen: ignored, and the approver is told why.
    await userEvent.keyboard('a');
    expect(engine.decideCalls).toEqual([]);
    expect(document.body.textContent).toContain('Shortcut ignored');

    await look();
    await userEvent.keyboard('d');
    const reason = within(detail()).getByLabelText(/Why deny/) as HTMLInputElement;
    expect(document.activeElement).toBe(reason);
    expect(reason.value).toBe('');
    await userEvent.keyboard('a{Escape}');
    expect(within(detail()).queryByLabelText(/Why deny/)).toBeNull();
    expect(engine.decideCalls).toEqual([]);

    await userEvent.keyboard('a');
    expect(engine.decideCalls).toEqual([{ id: first.id, decision: 'approve', scope: 'once' }]);
    // The next request is selected; a quick second press does not approve it unseen.
    await waitFor(() => expect(detail().getAttribute('data-approval-detail')).toBe(second.id));
    await userEvent.keyboard('a');
    expect(engine.decideCalls).toHaveLength(1);

    await look();
    await userEvent.keyboard('d');
    await userEvent.keyboard('not during the freeze{Enter}');
    expect(engine.decideCalls[1]).toEqual({ id: second.id, decision: 'deny', reason: 'not during the freeze' });
    await screen.findByText('No requests waiting');

    await userEvent.keyboard('?');
    expect(screen.getByRole('dialog', { name: 'Keyboard shortcuts' }).textContent).toContain('Approve the selected request');
    await userEvent.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
  });

  it("shows the broker's refusal at the card in plain words", async () => {
    engine.hold(request({ requester: { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['approvers'], claims: {} } }));
    renderInbox(engine);
    const card = await screen.findByRole('article');
    await userEvent.click(within(card).getByRole('button', { name: /Approve once/ }));
    const alert = within(card).getByRole('alert');
    expect(alert.textContent).toContain('Not approved — you cannot decide this request');
    expect(alert.textContent).toContain('another approver must');
    // Still waiting, still decidable by someone else.
    expect(screen.getAllByRole('option')).toHaveLength(1);
  });

  it('keeps the selected request in place when an earlier-expiring one arrives', async () => {
    const later = engine.hold(request({ expiresAt: Date.now() + 9 * 60_000 }));
    renderInbox(engine);
    await screen.findByRole('article');
    expect(detail().getAttribute('data-approval-detail')).toBe(later.id);
    const sooner = engine.hold(request({ expiresAt: Date.now() + 2 * 60_000 }));
    await waitFor(() => expect(screen.getAllByRole('option')).toHaveLength(2));
    // Sorted soonest first, but the approver's selection does not jump to it.
    expect(screen.getAllByRole('option')[0]!.getAttribute('data-approval-id')).toBe(sooner.id);
    expect(detail().getAttribute('data-approval-detail')).toBe(later.id);
  });

  it('moves a request decided elsewhere to the history and lists again after a reconnect', async () => {
    const held = engine.hold(request());
    renderInbox(engine);
    await screen.findByRole('article');
    engine.setConnection('connecting');
    await screen.findByText(/Not live/);
    // While the events were down: bob denied it, and a new one was held. No events reach us.
    engine.approvals.set(held.id, { ...held, status: 'denied', decidedAt: Date.now(), reason: 'wrong table', votes: [{ approver: { subject: 'bob', issuer: 'sluice:token' }, decision: 'deny', reason: 'wrong table', scope: 'once', at: Date.now() }] });
    const missed = request({ statement: 'DELETE FROM carts WHERE id = 7' });
    engine.approvals.set(missed.id, missed);
    const lists = engine.listCalls;
    engine.setConnection('live');
    await waitFor(() => expect(screen.getAllByRole('option').map((option) => option.getAttribute('data-approval-id'))).toEqual([missed.id]));
    expect(engine.listCalls).toBeGreaterThan(lists);
    // The one on screen stays put, now showing how it ended.
    expect(within(detail()).getByRole('status', { name: 'Outcome' }).textContent).toContain('Denied by bob');
    expect(within(screen.getByRole('region', { name: /History/ })).getByText('wrong table')).toBeTruthy();
  });

  it('never lets a list answered before a decision bring the decided request back', async () => {
    const held = engine.hold(request());
    renderInbox(engine);
    await screen.findByRole('article');
    engine.setConnection('connecting');
    let release = () => {};
    engine.listGate = new Promise((resolve) => (release = resolve));
    engine.setConnection('live'); // re-lists: the answer (taken now, still pending) is held back
    await waitFor(() => expect(engine.listCalls).toBeGreaterThan(2));
    const denied: Approval = { ...held, status: 'denied', decidedAt: Date.now(), reason: 'no', votes: [{ approver: { subject: 'bob', issuer: 'sluice:token' }, decision: 'deny', reason: 'no', scope: 'once', at: Date.now() }] };
    engine.approvals.set(held.id, denied);
    engine.emit({ event: 'approval.decided', payload: denied });
    await act(async () => {
      release();
      await engine.listGate;
    });
    await waitFor(() => expect(screen.queryAllByRole('option')).toHaveLength(0));
    expect(within(detail()).getByRole('status', { name: 'Outcome' }).textContent).toContain('Denied by bob');
  });

  it('shows quorum progress, and a session grant when the rule allows one', async () => {
    const held = engine.hold(request({ quorum: 2, sessionGrantMs: 30 * 60_000 }));
    renderInbox(engine);
    const card = await screen.findByRole('article');
    expect(within(card).getByText(/0 of 2 approvals/)).toBeTruthy();
    await userEvent.click(within(card).getByRole('button', { name: 'Approve for this session (30 min)' }));
    expect(engine.decideCalls).toEqual([{ id: held.id, decision: 'approve', scope: 'session' }]);
    // One vote of two: still waiting, and it says who voted and what is missing.
    await within(card).findByText(/You approved this\. It needs 1 more approval from another approver/);
    expect(within(card).getByText(/1 of 2 approvals/).textContent).toContain('alice');
    expect(screen.getAllByRole('option')).toHaveLength(1);
    expect(within(card).queryByRole('button', { name: /Approve/ })).toBeNull();
  });

  it('links the session for auditors only', async () => {
    const held = engine.hold(request());
    const { unmount } = renderInbox(engine);
    await screen.findByRole('article');
    expect(within(detail()).queryByRole('link', { name: held.sessionId })).toBeNull();
    unmount();
    renderInbox(engine, { ...ALICE, roles: ['approvers', 'auditors'] });
    await screen.findByRole('article');
    expect(within(detail()).getByRole('link', { name: held.sessionId }).getAttribute('href')).toBe(`#/sessions/${held.sessionId}`);
  });

  it('offers desktop notifications, and sends one per new request once allowed', async () => {
    const shown: { title: string; options: NotificationOptions | undefined }[] = [];
    const instances: { onclick: (() => void) | null }[] = [];
    class FakeNotification {
      static permission: NotificationPermission = 'default';
      static requestPermission = vi.fn(async () => (FakeNotification.permission = 'granted'));
      onclick: (() => void) | null = null;
      constructor(title: string, options?: NotificationOptions) {
        shown.push({ title, options });
        instances.push(this);
      }
      close() {}
    }
    vi.stubGlobal('Notification', FakeNotification);
    vi.spyOn(document, 'hasFocus').mockReturnValue(false);
    renderInbox(engine);
    await userEvent.click(await screen.findByRole('button', { name: /Enable desktop notifications/ }));
    expect(FakeNotification.requestPermission).toHaveBeenCalledOnce();
    await waitFor(() => expect(screen.queryByRole('button', { name: /Enable desktop notifications/ })).toBeNull());

    const held = engine.hold(request());
    engine.emit({ event: 'approval.requested', payload: held }); // delivered twice: still one notification
    expect(shown).toHaveLength(1);
    expect(shown[0]!.title).toBe('Approval needed: DELETE on prod-db');
    expect(shown[0]!.options?.body).toContain('ci-job');
    // Clicking it brings the console to that request.
    const focus = vi.spyOn(window, 'focus').mockImplementation(() => {});
    act(() => instances[0]!.onclick?.());
    expect(focus).toHaveBeenCalled();
    expect(location.hash).toBe(`#/approvals/${held.id}`);
  });
});
