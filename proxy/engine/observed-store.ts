import type { AuditStore, EventKind, SessionCounters, SessionRecord, SessionRecording, SessionStart } from '../audit/audit-types.js';
import type { EngineEvents } from './engine-events.js';

/**
 * The audit store as the engine uses it: every session start, event and end is also announced on
 * the engine's event bus (for live views), in the order the store numbers them. Nothing is built
 * for the bus while nobody listens.
 */
export function observedStore(store: AuditStore, events: EngineEvents): AuditStore {
  const beginSession = (start: SessionStart): SessionRecording => {
    const recording = store.beginSession(start);
    const startedAt = Date.now();
    const record = (status: SessionRecord['status'], counters: SessionCounters, endedAt: number | null): SessionRecord => ({
      ...start,
      id: recording.id,
      startedAt,
      endedAt,
      status,
      counters: { ...counters },
    });
    if (events.has('session.started')) events.emit('session.started', record('open', { statements: 0, errors: 0, rows: 0 }, null));
    return {
      id: recording.id,
      get lastEvent() {
        return recording.lastEvent;
      },
      event(kind: EventKind, payload: Readonly<Record<string, unknown>>) {
        const done = recording.event(kind, payload);
        const recorded = recording.lastEvent;
        if (recorded && events.has('event.appended')) events.emit('event.appended', recorded);
        return done;
      },
      end(status, counters) {
        const done = recording.end(status, counters);
        if (events.has('session.ended')) events.emit('session.ended', record(status, counters, Date.now()));
        return done;
      },
    };
  };
  // Explicit delegation: stores are classes with private fields, so their methods need `store` as `this`.
  return {
    file: store.file,
    get failure() {
      return store.failure;
    },
    beginSession,
    listSessions: (query) => store.listSessions(query),
    getSession: (id) => store.getSession(id),
    listEvents: (sessionId) => store.listEvents(sessionId),
    readChain: (gateway) => store.readChain(gateway),
    ...(store.gateways ? { gateways: () => store.gateways!() } : {}),
    flush: () => store.flush(),
    checkpoint: (signer) => store.checkpoint(signer),
    prune: (horizon, signer) => store.prune(horizon, signer),
    stats: () => store.stats(),
    close: () => store.close(),
  };
}
