import type { EventKind, SessionCounters, SessionRecording, SessionStart } from '../audit-types.js';
import { nowMicros } from '../clock.js';
import type { BatchWriter } from './batch-writer.js';
import { endSessionParams, insertSessionParams } from './session-queries.js';

/** One live session's recording: assigns each event the next seq and hands it to the writer. */
export class SqliteSessionRecording implements SessionRecording {
  private seq = 0;
  private ended: Promise<void> | undefined;

  constructor(
    readonly id: string,
    private readonly writer: BatchWriter,
  ) {}

  /** Queues the session row (status open) and its seq-1 `connect` event. */
  start(start: SessionStart): void {
    const time = nowMicros();
    void this.writer.insertSession(insertSessionParams(this.id, start, Math.floor(time / 1000)), () => `the start of session ${this.id}`);
    const { subject, issuer, method, groups } = start.identity;
    this.queue('connect', time, {
      identity: { subject, issuer, method, groups },
      resource: start.resource,
      client_address: start.clientAddress,
      application: start.application,
    });
  }

  event(kind: EventKind, payload: Readonly<Record<string, unknown>>): Promise<void> {
    return this.queue(kind, nowMicros(), payload);
  }

  /** Queues `disconnect` and the session's final status; a second call changes nothing. */
  end(status: 'closed' | 'aborted', counters: SessionCounters): Promise<void> {
    this.ended ??= (() => {
      const time = nowMicros();
      const { statements, errors, rows } = counters;
      void this.queue('disconnect', time, { status, counters: { statements, errors, rows } });
      return this.writer.endSession(endSessionParams(this.id, status, Math.floor(time / 1000), counters), () => `the end of session ${this.id}`);
    })();
    return this.ended;
  }

  private queue(kind: EventKind, time: number, payload: Readonly<Record<string, unknown>>): Promise<void> {
    return this.writer.insertEvent({ session_id: this.id, seq: ++this.seq, time, kind, payload: serialize(payload) });
  }
}

/**
 * Serialized now, so a caller changing its object later cannot change the record. A payload
 * JSON cannot express (a BigInt, a cycle) is a bug in the caller, but the event still happened:
 * it is recorded with the reason in place of its payload rather than dropped.
 */
function serialize(payload: Readonly<Record<string, unknown>>): string {
  try {
    const json = JSON.stringify(payload) as string | undefined;
    if (json !== undefined && json.startsWith('{')) return json;
    return JSON.stringify({ unrecordable_payload: `not a JSON object (${typeof payload})` });
  } catch (error) {
    return JSON.stringify({ unrecordable_payload: (error as Error).message });
  }
}
