// @vitest-environment jsdom
import { act, cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseRoute } from '../../renderer/src/app/routes.js';
import { eventAppended, rowsFromList, sessionStarted } from '../../renderer/src/screens/sessions/live-sessions.js';
import { filtersFromQuery, listInput, NO_FILTERS, queryFromFilters } from '../../renderer/src/screens/sessions/session-filters.js';
import { SessionsScreen } from '../../renderer/src/screens/sessions/sessions-screen.js';
import { eventRecord, FakeSessionsClient, sessionRecord } from './replayer-fake-client.js';

// The sessions list: filters in the route, live updates, the empty states, opening a session.

/** The screen as the app renders it: with the query of the current hash route. */
function Routed({ client }: { client: FakeSessionsClient }) {
  const route = parseRoute(globalThis.location.hash);
  return <SessionsScreen client={client} query={route?.screen === 'sessions' ? route.query : {}} />;
}

function renderRouted(client: FakeSessionsClient) {
  const view = render(<Routed client={client} />);
  const rerender = () => view.rerender(<Routed client={client} />);
  globalThis.addEventListener('hashchange', rerender);
  stops.push(() => globalThis.removeEventListener('hashchange', rerender));
  return view;
}

const stops: (() => void)[] = [];

const rows = () => screen.queryAllByRole('row').slice(1);

beforeEach(() => {
  globalThis.history.replaceState(null, '', '#/sessions');
});
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
  cleanup();
});

describe('session filters', () => {
  it('round-trip through the route query and become the API input', () => {
    const since = Date.UTC(2025, 0, 2, 3, 4);
    const query = queryFromFilters({ ...NO_FILTERS, resource: 'prod', identity: 'ci', protocol: 'postgres', status: 'closed', since, had: ['denial', 'masking'], search: 'DROP' });
    expect(query).toEqual({ search: 'DROP', resource: 'prod', identity: 'ci', protocol: 'postgres', status: 'closed', since: '2025-01-02T03:04:00.000Z', had: 'denial,masking' });
    const { filters, problems } = filtersFromQuery(query);
    expect(problems).toEqual([]);
    expect(listInput(filters)).toEqual({ limit: 100, resource: 'prod', identity: 'ci', protocol: 'postgres', status: 'closed', since, search: 'DROP', had: ['denial', 'masking'] });
  });

  it('leave out what a link gets wrong, and say so', () => {
    const { filters, problems } = filtersFromQuery({ protocol: 'ftp', had: 'denial,nonsense', since: 'yesterday', limit: '99999' });
    expect(listInput(filters)).toEqual({ limit: 1000, had: ['denial'] });
    expect(problems.sort()).toEqual(['had=nonsense is not one of denial, approval, masking, error, so it was left out', 'protocol=ftp is not one of postgres, http, exec, mcp, so it was left out', 'since=yesterday is not a date and time, so it was left out']);
  });
});

describe('live session rows', () => {
  it('count an open session’s statements and marks as its events arrive, and keep a `had` match hidden until it happens', () => {
    const { filters } = filtersFromQuery({ had: 'denial' });
    const open = sessionRecord({ status: 'open', endedAt: null, counters: { statements: 0, errors: 0, rows: 0 } });
    let list = sessionStarted(rowsFromList([]), open, filters);
    expect(list[0]!.shown).toBe(false);
    list = eventAppended(list, eventRecord(open.id, 2, 'query', { text: 'SELECT 1', rows: 1, outcome: 'ok' }), filters);
    expect(list[0]!.counters).toEqual({ statements: 1, errors: 0, rows: 1 });
    list = eventAppended(list, eventRecord(open.id, 3, 'decision', { effect: 'deny', rule: 'no-ddl' }), filters);
    expect(list[0]!.shown).toBe(true);
    expect(list[0]!.marks).toEqual(['denial']);
    // The same event twice (a reconnect replays it) is counted once.
    list = eventAppended(list, eventRecord(open.id, 2, 'query', { text: 'SELECT 1', rows: 1, outcome: 'ok' }), filters);
    expect(list[0]!.counters.statements).toBe(1);
  });
});

describe('the sessions screen', () => {
  it('lists sessions newest first with their caller, status and counters, and opens one on click', async () => {
    const older = sessionRecord({ startedAt: Date.now() - 3_600_000, endedAt: Date.now() - 3_500_000, identity: { subject: 'alice', issuer: 'sluice', method: 'token', groups: [] } });
    const newer = sessionRecord({ counters: { statements: 7, errors: 2, rows: 1_234 } });
    const client = new FakeSessionsClient([newer, older], new Map(), new Map([[newer.id, ['denial', 'error']]]));
    renderRouted(client);
    await waitFor(() => expect(rows()).toHaveLength(2));
    // Marks come from the gateway's `had` filter, a moment after the list.
    await waitFor(() => expect(within(rows()[0]!).getAllByRole('cell').at(-1)!.textContent).toBe('deniederror'));
    const cells = within(rows()[0]!).getAllByRole('cell').map((cell) => cell.textContent);
    expect(cells.slice(2)).toEqual(['testdb', 'postgres', 'ci-jobpsql', 'closed', '7', '2', '1,234', 'deniederror']);
    expect(within(rows()[1]!).getAllByRole('cell').at(-1)!.textContent).toBe('');
    expect(within(rows()[1]!).getByText('alice')).toBeTruthy();
    await userEvent.click(within(rows()[0]!).getByText('ci-job'));
    expect(globalThis.location.hash).toBe(`#/sessions/${newer.id}`);
  });

  it('puts filters in the route, so a link reproduces the view, and asks the gateway with them', async () => {
    const user = userEvent.setup();
    const client = new FakeSessionsClient([sessionRecord()]);
    renderRouted(client);
    await waitFor(() => expect(rows()).toHaveLength(1));
    await user.type(screen.getByLabelText('Resource'), 'testdb');
    await user.click(screen.getByRole('checkbox', { name: 'a denial' }));
    await user.selectOptions(screen.getByRole('combobox', { name: 'Protocol' }), 'postgres');
    await waitFor(() => expect(globalThis.location.hash).toBe('#/sessions?resource=testdb&protocol=postgres&had=denial'));
    await waitFor(() => expect(client.calls.filter((call) => call.method === 'sessions.list').at(-1)?.input).toEqual({ limit: 100, resource: 'testdb', protocol: 'postgres', had: ['denial'] }));
  });

  it('adds a session that starts while the list is open, and counts its statements live', async () => {
    const client = new FakeSessionsClient([sessionRecord()]);
    renderRouted(client);
    await waitFor(() => expect(rows()).toHaveLength(1));
    const live = sessionRecord({ startedAt: Date.now(), endedAt: null, status: 'open', counters: { statements: 0, errors: 0, rows: 0 }, identity: { subject: 'carol', issuer: 'sluice', method: 'token', groups: [] } });
    act(() => {
      client.emit({ event: 'session.started', payload: live });
      client.emit({ event: 'event.appended', payload: eventRecord(live.id, 1, 'connect', {}) });
      client.emit({ event: 'event.appended', payload: eventRecord(live.id, 2, 'query', { text: 'SELECT 1', rows: 3, outcome: 'ok', masked: { emails: 3 } }) });
    });
    await waitFor(() => expect(rows()).toHaveLength(2));
    const first = rows()[0]!;
    expect(within(first).getByText('carol')).toBeTruthy();
    expect(within(first).getByText('● live')).toBeTruthy();
    expect(within(first).getByText('masked')).toBeTruthy();
    expect(within(first).getAllByRole('cell').map((cell) => cell.textContent).slice(6, 9)).toEqual(['1', '0', '3']);
    act(() => client.emit({ event: 'session.ended', payload: { ...live, status: 'closed', endedAt: Date.now(), counters: { statements: 1, errors: 0, rows: 3 } } }));
    await waitFor(() => expect(within(rows()[0]!).getByText('closed')).toBeTruthy());
  });

  it('says how to get sessions when there are none, and how to widen the view when filters hide them all', async () => {
    const user = userEvent.setup();
    const client = new FakeSessionsClient([]);
    renderRouted(client);
    await waitFor(() => expect(screen.getByRole('heading', { name: 'No sessions recorded yet' })).toBeTruthy());
    expect(screen.getByText(/psql "host=<gateway host> port=6432 dbname=testdb/)).toBeTruthy();
    act(() => {
      globalThis.location.hash = '#/sessions?status=aborted';
    });
    await waitFor(() => expect(screen.getByRole('heading', { name: 'No sessions match these filters' })).toBeTruthy());
    await user.click(within(screen.getByRole('status', { name: '' }).closest('.empty-state') as HTMLElement).getByRole('button', { name: 'Clear filters' }));
    await waitFor(() => expect(globalThis.location.hash).toBe('#/sessions'));
  });
});
