// @vitest-environment jsdom
import { act, cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Replayer } from '../../renderer/src/screens/replayer/replayer.js';
import { EVENTS, SESSION } from './replayer-fixtures.js';

vi.mock('../../renderer/src/screens/replayer/terminal-view.js', async () => ({ TerminalView: (await import('./replayer-fixtures.js')).FakeTerminalView }));

afterEach(cleanup);

// jsdom has no PointerEvent: without one, a pointer event reaches React without its button or coordinates.
beforeAll(() => {
  if (globalThis.PointerEvent) return;
  class PointerEvent extends MouseEvent {
    readonly pointerId: number;
    constructor(type: string, init: PointerEventInit = {}) {
      super(type, init);
      this.pointerId = init.pointerId ?? 1;
    }
  }
  globalThis.PointerEvent = PointerEvent as typeof globalThis.PointerEvent;
});

const slider = () => screen.getByRole('slider', { name: 'Position in the session' });
const terminal = () => screen.getByTestId('terminal').textContent ?? '';
const panel = () => screen.getByRole('complementary', { name: 'Event details' });
const marker = (label: RegExp) => screen.getByRole('button', { name: label });
const leftOf = (element: HTMLElement) => Number.parseFloat(element.style.left);

/** The player, once its markers are drawn (they are worked out after the first paint). */
async function renderReplayer(props: Partial<Parameters<typeof Replayer>[0]> = {}) {
  const view = render(<Replayer session={SESSION} events={EVENTS} {...props} />);
  await screen.findByRole('list', { name: 'Markers on the timeline' });
  return view;
}

describe('the replayer timeline', () => {
  it('places a marker for each denial, masked result, error and approval where it happened (idle pauses shortened)', async () => {
    await renderReplayer();
    // The session runs 10 s on the timeline: the 7 s pause before the masked SELECT plays as 2 s.
    expect(slider().getAttribute('aria-valuemax')).toBe('10000');
    expect(leftOf(marker(/^Denied by rule no-ddl/))).toBeCloseTo(30);
    expect(leftOf(marker(/^Masked 2 cells \(emails\)/))).toBeCloseTo(50);
    expect(leftOf(marker(/^Error 22012: division by zero/))).toBeCloseTo(60);
    expect(leftOf(marker(/^Approval requested \(rule deletes-need-approval\)/))).toBeCloseTo(70);
    expect(leftOf(marker(/^Approved by alice/))).toBeCloseTo(90);
    // The refused DROP's own error is the denial's, not a second marker; the approval's request is announced once.
    expect(screen.queryByRole('button', { name: /^Error 42501/ })).toBeNull();
    expect(screen.getAllByRole('button', { name: /^Approval requested/ })).toHaveLength(1);
    const legend = screen.getByRole('list', { name: 'Markers on the timeline' });
    expect(within(legend).getByRole('button', { name: /1 denial$/ })).toBeTruthy();
    expect(within(legend).getByRole('button', { name: /2 approvals$/ })).toBeTruthy();
  });

  it('moves with the keyboard on the slider: arrows step to the next moment, End and Home go to the ends, and the terminal follows', async () => {
    const user = userEvent.setup();
    await renderReplayer();
    slider().focus();
    expect(slider().getAttribute('aria-valuenow')).toBe('0');
    expect(terminal()).toContain('-- session 01JTESTSESSION0000000000000 · resource testdb · ci-job (ci)');
    expect(terminal()).not.toContain('SELECT 1 AS one');

    await user.keyboard('{ArrowRight}');
    expect(slider().getAttribute('aria-valuenow')).toBe('1000');
    expect(slider().getAttribute('aria-valuetext')).toMatch(/^0:01 of 0:10, at .+, statement \(event 2\)$/);
    expect(terminal()).toContain('testdb=> SELECT 1 AS one;');

    await user.keyboard('{End}');
    expect(slider().getAttribute('aria-valuenow')).toBe('10000');
    expect(terminal()).toContain('-- session closed: 5 statements, 2 errors');

    await user.keyboard('{Home}');
    expect(slider().getAttribute('aria-valuenow')).toBe('0');
    expect(terminal()).not.toContain('DROP TABLE');

    await user.keyboard('{PageUp}{PageUp}{PageUp}');
    expect(slider().getAttribute('aria-valuenow')).toBe('3000');
    expect(terminal()).toContain('-- denied by rule no-ddl: schema changes go through migrations');
    await user.keyboard('{ArrowLeft}');
    expect(slider().getAttribute('aria-valuenow')).toBe('1000');
  });

  it('jumps to the next and previous marker with n / p and the buttons, selecting each marked event', async () => {
    const user = userEvent.setup();
    await renderReplayer();
    await user.keyboard('n');
    expect(slider().getAttribute('aria-valuenow')).toBe('3000');
    expect(within(panel()).getByText('Denied by rule no-ddl')).toBeTruthy();
    expect(within(panel()).getByText('schema changes go through migrations')).toBeTruthy();
    expect(terminal()).toContain('-- denied by rule no-ddl: schema changes go through migrations');
    expect(terminal()).not.toContain('SELECT id, email');

    await user.keyboard('n');
    expect(slider().getAttribute('aria-valuenow')).toBe('5000');
    expect(within(panel()).getByText('Masked 2 cells (emails)')).toBeTruthy();

    await user.click(screen.getByRole('button', { name: /Next marker/ }));
    expect(slider().getAttribute('aria-valuenow')).toBe('6000');
    expect(within(panel()).getByText('Error 22012: division by zero')).toBeTruthy();

    await user.keyboard('p');
    expect(slider().getAttribute('aria-valuenow')).toBe('5000');
    await user.keyboard('[[');
    expect(slider().getAttribute('aria-valuenow')).toBe('3000');
    expect(screen.getByRole('button', { name: /Previous marker/ }).hasAttribute('disabled')).toBe(true);
  });

  it('skips the kinds switched off in the legend', async () => {
    const user = userEvent.setup();
    await renderReplayer();
    await user.click(screen.getByRole('button', { name: /1 denial$/ }));
    await user.click(screen.getByRole('button', { name: /1 masked result$/ }));
    await user.keyboard('n');
    expect(within(panel()).getByText('Error 22012: division by zero')).toBeTruthy();
    expect(screen.queryByRole('button', { name: /^Denied by rule no-ddl/ })).toBeNull();
  });

  it('shows the clicked marker’s event in the side panel: the decision trace, masking hits, approval votes', async () => {
    const user = userEvent.setup();
    await renderReplayer();
    await user.click(marker(/^Denied by rule no-ddl/));
    const trace = within(panel()).getByRole('table');
    expect(within(trace).getAllByRole('row').map((row) => row.textContent)).toEqual(['RuleEffectWhy', 'no-ddldenykind ddl on public.customers', 'ci-readallowgroup ci']);
    expect(within(panel()).getByText('writes public.customers')).toBeTruthy();
    expect(within(panel()).getByTestId('sql').textContent).toBe('DROP TABLE customers;');

    await user.click(marker(/^Masked 2 cells/));
    const hits = within(panel()).getByRole('table');
    expect(within(hits).getAllByRole('row').map((row) => row.textContent)).toEqual(['RuleCells masked', 'emails2']);

    await user.click(marker(/^Approved by alice/));
    const approval = within(panel()).getByRole('region', { name: 'Approval appr-1' });
    expect(within(approval).getByText('deletes-need-approval')).toBeTruthy();
    expect(within(approval).getByText('delete on public.customers')).toBeTruthy();
    expect(within(approval).getAllByRole('row').map((row) => row.textContent)).toEqual(['ApproverVoteReason', 'aliceapproveticket 42']);
    // The raw payload is there too, folded away.
    expect(within(panel()).getByText('Recorded payload (JSON)')).toBeTruthy();
  });

  it('drags: a pointer on the track seeks to that point', async () => {
    await renderReplayer();
    const track = slider();
    track.getBoundingClientRect = () => ({ left: 100, width: 400, top: 0, height: 26, right: 500, bottom: 26, x: 100, y: 0, toJSON: () => ({}) });
    fireEvent.pointerDown(track, { button: 0, clientX: 100 + 400 * 0.55, pointerId: 1 });
    await waitFor(() => expect(slider().getAttribute('aria-valuenow')).toBe('5500'));
    await waitFor(() => expect(terminal()).toContain('[redacted]'));
    expect(terminal()).not.toContain('division by zero');
  });

  it('searches within the session: counts matches, jumps to each and selects its event', async () => {
    const user = userEvent.setup();
    await renderReplayer();
    await user.type(screen.getByRole('searchbox', { name: 'Search in session' }), 'customers');
    await waitFor(() => expect(screen.getByText('3 matches')).toBeTruthy());
    await user.keyboard('{Enter}');
    expect(screen.getByText('1 of 3')).toBeTruthy();
    expect(slider().getAttribute('aria-valuenow')).toBe('3000');
    await user.keyboard('{Enter}');
    expect(screen.getByText('2 of 3')).toBeTruthy();
    expect(slider().getAttribute('aria-valuenow')).toBe('5000');
    await user.keyboard('{Shift>}{Enter}{/Shift}');
    expect(screen.getByText('1 of 3')).toBeTruthy();
  });

  it('plays to the end at 16x and stops there', async () => {
    const user = userEvent.setup();
    await renderReplayer();
    await user.selectOptions(screen.getByRole('combobox', { name: 'Speed' }), '16');
    await user.click(screen.getByRole('button', { name: /^Play/ }));
    expect(screen.getByRole('button', { name: /^Pause/ })).toBeTruthy();
    // 10 s of timeline at 16x: about 0.6 s.
    await waitFor(() => expect(screen.getByRole('button', { name: /^Replay/ })).toBeTruthy(), { timeout: 3_000 });
    expect(slider().getAttribute('aria-valuenow')).toBe('10000');
    await waitFor(() => expect(terminal()).toContain('-- session closed'));
    expect(terminal()).toContain('DELETE 1');
  });

  it('opens at initialSeq with that event selected', async () => {
    await renderReplayer({ initialSeq: 5 });
    expect(slider().getAttribute('aria-valuenow')).toBe('5000');
    expect(within(panel()).getByText('Masked 2 cells (emails)')).toBeTruthy();
  });

  it('turning skip idle off keeps the same frame on screen and shows the real pauses', async () => {
    const user = userEvent.setup();
    await renderReplayer({ initialSeq: 5 });
    await user.click(screen.getByRole('checkbox', { name: 'Skip idle' }));
    expect(slider().getAttribute('aria-valuemax')).toBe('15000');
    expect(slider().getAttribute('aria-valuenow')).toBe('10000');
    act(() => undefined);
    expect(leftOf(marker(/^Masked 2 cells/))).toBeCloseTo((10 / 15) * 100);
  });
});
