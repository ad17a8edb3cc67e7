import { useEffect, useState } from 'react';
import type { ApiError, EventRecord, SessionRecord } from '../../../../proxy/api/api-contract.js';
import type { EngineClient } from '../../engine-client.js';

// One session and its events from the engine, kept current while it is open: appended events
// arrive over the events connection and are added in batches (one re-render per batch, not per
// event); a gap in seq (events missed while reconnecting) reloads the events from the store.

export type RecordingState =
  | { readonly status: 'loading' }
  | { readonly status: 'error'; readonly error: ApiError }
  | { readonly status: 'ok'; readonly session: SessionRecord; readonly events: readonly EventRecord[] };

const BATCH_MS = 200;

export function useSessionRecording(client: EngineClient, sessionId: string): RecordingState {
  const [state, setState] = useState<RecordingState>({ status: 'loading' });

  useEffect(() => {
    let cancelled = false;
    let loaded: { session: SessionRecord; events: EventRecord[] } | undefined;
    // Events that arrive before (or while) the first load answers, and between batches.
    let arrived: EventRecord[] = [];
    let ended: SessionRecord | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const publish = () => {
      if (!cancelled && loaded) setState({ status: 'ok', session: loaded.session, events: loaded.events });
    };

    const load = async () => {
      const [session, events] = await Promise.all([client.call('sessions.get', { id: sessionId }), client.call('sessions.events', { id: sessionId })]);
      if (cancelled) return;
      if (!session.ok) return setState({ status: 'error', error: session.error });
      if (!events.ok) return setState({ status: 'error', error: events.error });
      loaded = { session: ended ?? session.value, events: events.value };
      flush();
    };

    const flush = () => {
      timer = undefined;
      if (!loaded) return;
      const batch = arrived.sort((a, b) => a.seq - b.seq);
      arrived = [];
      let events = loaded.events;
      for (const event of batch) {
        const last = events.at(-1)?.seq ?? 0;
        if (event.seq <= last) continue;
        if (event.seq !== last + 1) {
          // Missed some (a reconnect): the store has them all.
          void load();
          return;
        }
        // One copy per batch, then appends.
        if (events === loaded.events) events = events.slice();
        events.push(event);
      }
      loaded = { session: ended ?? loaded.session, events };
      publish();
    };

    const unsubscribe = client.subscribe((message) => {
      if (message.event === 'event.appended' && message.payload.sessionId === sessionId) {
        arrived.push(message.payload);
        timer ??= setTimeout(flush, BATCH_MS);
      } else if (message.event === 'session.ended' && message.payload.id === sessionId) {
        ended = message.payload;
        timer ??= setTimeout(flush, BATCH_MS);
      }
    });
    setState({ status: 'loading' });
    void load();
    return () => {
      cancelled = true;
      unsubscribe();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [client, sessionId]);

  return state;
}
