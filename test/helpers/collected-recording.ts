import { expect } from 'vitest';
import type { EventKind, SessionRecording } from '../../proxy/audit/audit-types.js';

/** A session's recording that keeps what it is given: the input the broker and limiter write to, read back by tests. */
export class CollectedRecording implements SessionRecording {
  readonly id = 'S1';
  readonly events: { kind: EventKind; payload: Readonly<Record<string, unknown>> }[] = [];

  event(kind: EventKind, payload: Readonly<Record<string, unknown>>): Promise<void> {
    this.events.push({ kind, payload });
    return Promise.resolve();
  }

  end(): Promise<void> {
    return Promise.resolve();
  }

  /** Payloads of one kind, in order. */
  payloads(kind: EventKind): Readonly<Record<string, unknown>>[] {
    return this.events.filter((event) => event.kind === kind).map((event) => event.payload);
  }

  /** The payloads, after checking every event is an `approval` one (what a broker writes). */
  get approvals(): Readonly<Record<string, unknown>>[] {
    expect(this.events.every((event) => event.kind === 'approval')).toBe(true);
    return this.payloads('approval');
  }

  get actions(): unknown[] {
    return this.approvals.map((payload) => payload['action']);
  }

  get limits(): Readonly<Record<string, unknown>>[] {
    return this.payloads('limit');
  }
}
