import { useEffect, useState } from 'react';
import type { ApiError, ApiEventMessage, ApiInput, SessionMark, SessionRecord } from '../../../../proxy/api/api-contract.js';
import type { EngineClient } from '../../engine-client.js';
import { eventAppended, eventsRead, marksFound, recordMarks, rowsFromList, sessionEnded, sessionStarted, type SessionRow } from './live-sessions.js';
import { listInput, MARKS, type SessionFilters } from './session-filters.js';

// The sessions list for a set of filters, kept current by the engine's events. Events are
// applied in batches (a busy gateway appends hundreds a second; the table re-renders a few
// times a second), and the previous rows stay on screen while new filters load.

export interface SessionListState {
  readonly loading: boolean;
  readonly rows: readonly SessionRow[] | undefined;
  readonly error: ApiError | undefined;
}

const BATCH_MS = 250;
/** Open sessions whose events are read to count them (others count from live events only). */
const OPEN_SESSIONS_COUNTED = 20;

export function useSessionList(client: EngineClient, filters: SessionFilters): SessionListState {
  const [state, setState] = useState<SessionListState>({ loading: true, rows: undefined, error: undefined });
  const key = JSON.stringify(listInput(filters));

  useEffect(() => {
    let cancelled = false;
    let rows: readonly SessionRow[] | undefined;
    let queued: ApiEventMessage[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const publish = () => {
      if (!cancelled) setState({ loading: false, rows, error: undefined });
    };
    const apply = (message: ApiEventMessage) => {
      if (!rows) return;
      switch (message.event) {
        case 'session.started':
          rows = sessionStarted(rows, message.payload, filters);
          break;
        case 'session.ended':
          rows = sessionEnded(rows, message.payload, filters);
          break;
        case 'event.appended':
          rows = eventAppended(rows, message.payload, filters);
          break;
        default:
          break;
      }
    };
    const flush = () => {
      timer = undefined;
      if (!rows) return;
      const before = rows;
      for (const message of queued) apply(message);
      queued = [];
      if (rows !== before) publish();
    };
    // Subscribed before the list is asked for: nothing between the two is missed.
    const unsubscribe = client.subscribe((message) => {
      if (message.event !== 'session.started' && message.event !== 'session.ended' && message.event !== 'event.appended') return;
      queued.push(message);
      if (rows) timer ??= setTimeout(flush, BATCH_MS);
    });

    setState((previous) => ({ ...previous, loading: true }));
    void client.call('sessions.list', JSON.parse(key) as ReturnType<typeof listInput>).then(async (result) => {
      if (cancelled) return;
      if (!result.ok) {
        setState((previous) => ({ ...previous, loading: false, error: result.error }));
        return;
      }
      rows = rowsFromList(result.value);
      flush();
      publish();
      const marks = await marksOf(client, JSON.parse(key) as ApiInput<'sessions.list'>, result.value);
      if (cancelled) return;
      if (marks && rows) {
        rows = marksFound(rows, marks);
        publish();
      }
      // Open sessions' counters are written when they end: count what they did so far.
      const open = result.value.filter((session) => session.status === 'open').slice(0, OPEN_SESSIONS_COUNTED);
      for (const session of open) {
        const events = await client.call('sessions.events', { id: session.id });
        if (cancelled) return;
        if (!events.ok || !rows) continue;
        rows = eventsRead(rows, session.id, events.value, filters);
        publish();
      }
    });
    return () => {
      cancelled = true;
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
    };
    // `key` stands for the filters (their content, not the object): a new object with the same filters does not reload.
  }, [client, key]);

  return state;
}

/**
 * Which of the listed sessions had a denial, an approval, masking or an error. Session records
 * do not say (when the store adds `marks` to them, this asks nothing); the gateway answers it
 * with `had`: the same list filtered by each mark. A listed session with a mark is always among
 * that mark's newest `limit`, so the answer is complete for the list shown. Undefined when the
 * gateway ignores `had` (each answer the whole list: every session cannot have every mark).
 */
async function marksOf(client: EngineClient, input: ApiInput<'sessions.list'>, sessions: readonly SessionRecord[]): Promise<Map<string, SessionMark[]> | undefined> {
  if (sessions.length === 0 || sessions.some((session) => recordMarks(session).length > 0)) return undefined;
  const listed = new Set(sessions.map((session) => session.id));
  const answers = await Promise.all(MARKS.map((mark) => client.call('sessions.list', { ...input, had: [...new Set([...(input.had ?? []), mark])] })));
  if (answers.some((answer) => !answer.ok)) return undefined;
  const ids = answers.map((answer) => (answer.ok ? answer.value.map((session) => session.id) : []));
  if (sessions.length > 1 && ids.every((list) => list.length === sessions.length && list.every((id) => listed.has(id)))) return undefined;
  const found = new Map<string, SessionMark[]>();
  MARKS.forEach((mark, index) => {
    for (const id of ids[index]!) if (listed.has(id)) found.set(id, [...(found.get(id) ?? []), mark]);
  });
  return found;
}
