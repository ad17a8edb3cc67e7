// @vitest-environment jsdom
import { act, cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReplayScreen } from '../../renderer/src/screens/replayer/replay-screen.js';
import { eventRecord, FakeSessionsClient, sessionRecord } from './replayer-fake-client.js';

vi.mock('../../renderer/src/screens/replayer/terminal-view.js', async () => ({ TerminalView: (await import('./replayer-fixtures.js')).FakeTerminalView }));

afterEach(cleanup);

const terminal = () => screen.getByTestId('terminal').textContent ?? '';

describe('the replay screen', () => {
  it('follows a live session: appended events show in the terminal as they arrive, and the end closes it', async () => {
    const session = sessionRecord({ status: 'open', endedAt: null });
    const events = [eventRecord(session.id, 1, 'connect', { identity: { subject: 'ci-job', groups: ['ci'] }, resource: 'testdb' }), eventRecord(session.id, 2, 'query', { text: 'SELECT 1;', rows: 1, outcome: 'ok', tags: ['SELECT 1'], duration_ms: 1 })];
    const client = new FakeSessionsClient([session], new Map([[session.id, events]]));
    render(<ReplayScreen client={client} sessionId={session.id} />);
    await waitFor(() => expect(terminal()).toContain('testdb=> SELECT 1;'));
    expect(screen.getByText('Live session.')).toBeTruthy();

    act(() => client.emit({ event: 'event.appended', payload: eventRecord(session.id, 3, 'query', { text: 'SELECT 2 AS later;', rows: 1, outcome: 'ok', tags: ['SELECT 1'], duration_ms: 1 }) }));
    await waitFor(() => expect(terminal()).toContain('testdb=> SELECT 2 AS later;'));
    // Events of other sessions are not this one's.
    act(() => client.emit({ event: 'event.appended', payload: eventRecord('another', 4, 'query', { text: 'SELECT 3 AS elsewhere;' }) }));

    act(() => {
      client.emit({ event: 'event.appended', payload: eventRecord(session.id, 4, 'disconnect', { status: 'closed', counters: { statements: 2, errors: 0, rows: 2 } }) });
      client.emit({ event: 'session.ended', payload: { ...session, status: 'closed', endedAt: Date.now(), counters: { statements: 2, errors: 0, rows: 2 } } });
    });
    await waitFor(() => expect(terminal()).toContain('-- session closed: 2 statements, 0 errors'));
    expect(terminal()).not.toContain('elsewhere');
    expect(screen.queryByText('Live session.')).toBeNull();
  });

  it('reloads the events when some were missed (a gap in seq)', async () => {
    const session = sessionRecord({ status: 'open', endedAt: null });
    const stored = [eventRecord(session.id, 1, 'connect', {})];
    const client = new FakeSessionsClient([session], new Map([[session.id, stored]]));
    render(<ReplayScreen client={client} sessionId={session.id} />);
    await waitFor(() => expect(screen.getByRole('slider')).toBeTruthy());
    stored.push(eventRecord(session.id, 2, 'query', { text: 'SELECT 2 AS missed;', outcome: 'ok', tags: [] }), eventRecord(session.id, 3, 'query', { text: 'SELECT 3 AS seen;', outcome: 'ok', tags: [] }));
    act(() => client.emit({ event: 'event.appended', payload: stored[2]! }));
    await waitFor(() => expect(terminal()).toContain('SELECT 2 AS missed;'));
    expect(terminal()).toContain('SELECT 3 AS seen;');
    expect(client.calls.filter((call) => call.method === 'sessions.events')).toHaveLength(2);
  });

  it('says so when the session does not exist', async () => {
    render(<ReplayScreen client={new FakeSessionsClient([])} sessionId="01JNOSUCHSESSION" />);
    await waitFor(() => expect(screen.getByRole('heading', { name: 'No such session' })).toBeTruthy());
    expect(screen.getByText('01JNOSUCHSESSION')).toBeTruthy();
  });
});
