import type { LedgerEntry } from '../../common/audit-chain-types.js';
import type { EventKind, EventRecord, SessionCounters, SessionRecording, SessionStart } from '../audit-types.js';
import { nowMicros } from '../clock.js';
import { EventChain } from '../event-chain.js';
import type { BatchWriter } from './batch-writer.js';
import { endSessionParams, insertSessionParams } from './session-queries.js';

/** Where a session's start and seal go into the gateway-level chain (the store's ledger). */
export type LedgerAppend = (kind: LedgerEntry['kind'], sessionId: string, hash: string, time: number) => LedgerEntry;

/** One live session's recording: chains each event onto the last and hands it to the writer. */
export class SqliteSessionRecording implements SessionRecording {
  readonly #chain: EventChain;
  #ended: Promise<void> | undefined;
  #last: EventRecord | undefined;

  constructor(
    readonly id: string,
    private readonly writer: BatchWriter,
    private readonly ledger: LedgerAppend,
  ) {
    this.#chain = new EventChain(id);
  }

  get lastEvent(): EventRecord | undefined {
    return this.#last;
  }

  /** Queues the session row (status open), its seq-1 `connect` event and its ledger start entry. */
  start(start: SessionStart): void {
    const time = nowMicros();
    void this.writer.insertSession(insertSessionParams(this.id, start, Math.floor(time / 1000)), () => `the start of session ${this.id}`);
    const { subject, issuer, method, groups } = start.identity;
    void this.queue('connect', time, {
      identity: { subject, issuer, method, groups },
      resource: start.resource,
      client_address: start.clientAddress,
      application: start.application,
      ...(start.run !== undefined && { run: start.run }),
    });
    void this.writer.insertLedger(this.ledger('start', this.id, this.#chain.head, time));
  }

  event(kind: EventKind, payload: Readonly<Record<string, unknown>>): Promise<void> {
    return this.queue(kind, nowMicros(), payload);
  }

  /** Queues `disconnect` (the seal: its hash is the session's final hash), the final status and the ledger seal; a second call changes nothing. */
  end(status: 'closed' | 'aborted', counters: SessionCounters): Promise<void> {
    this.#ended ??= (() => {
      const time = nowMicros();
      const { statements, errors, rows } = counters;
      void this.queue('disconnect', time, { status, counters: { statements, errors, rows } });
      const seal = this.#chain.head;
      void this.writer.insertLedger(this.ledger('seal', this.id, seal, time));
      return this.writer.endSession(endSessionParams(this.id, status, Math.floor(time / 1000), counters, seal), () => `the end of session ${this.id}`);
    })();
    return this.#ended;
  }

  private queue(kind: EventKind, time: number, payload: Readonly<Record<string, unknown>>): Promise<void> {
    const event = this.#chain.next(kind, time, payload);
    this.#last = { sessionId: this.id, seq: event.seq, time, kind, payload, prevHash: event.prevHash, hash: event.hash };
    return this.writer.insertEvent({ session_id: this.id, seq: event.seq, time, kind, payload: event.payload, prev_hash: event.prevHash, hash: event.hash });
  }
}
