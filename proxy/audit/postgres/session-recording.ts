import type { EventKind, EventRecord, SessionCounters, SessionRecording, SessionStart } from '../audit-types.js';
import { EventChain, type Ledger } from '../event-chain.js';
import type { PostgresBatchWriter } from './batch-writer.js';

// One live session's recording in the shared store: the SQLite recording's steps (connect event,
// ledger start, events, disconnect as the seal, ledger seal, final row), hashed in process by
// the same EventChain and Ledger, handed to the PostgreSQL writer.

export class PostgresSessionRecording implements SessionRecording {
  readonly #chain: EventChain;
  #ended: Promise<void> | undefined;
  #last: EventRecord | undefined;

  constructor(
    readonly id: string,
    private readonly writer: PostgresBatchWriter,
    private readonly ledger: Ledger,
    /** µs since the epoch. */
    private readonly micros: () => number,
  ) {
    this.#chain = new EventChain(id);
  }

  get lastEvent(): EventRecord | undefined {
    return this.#last;
  }

  /** Queues the session row (status open), its seq-1 `connect` event and its ledger start entry. */
  start(start: SessionStart): void {
    const time = this.micros();
    const { subject, issuer, method, groups } = start.identity;
    void this.writer.insertSession({
      id: this.id,
      resource: start.resource,
      protocol: start.protocol,
      // Only these four fields: an identity's claims are not the store's to keep.
      identity: JSON.stringify({ subject, issuer, method, groups }),
      clientAddress: start.clientAddress,
      application: start.application,
      startedAt: Math.floor(time / 1000),
    });
    void this.queue('connect', time, { identity: { subject, issuer, method, groups }, resource: start.resource, client_address: start.clientAddress, application: start.application, ...(start.run !== undefined && { run: start.run }) });
    void this.writer.insertLedger(this.ledger.append('start', this.id, this.#chain.head, time));
  }

  event(kind: EventKind, payload: Readonly<Record<string, unknown>>): Promise<void> {
    return this.queue(kind, this.micros(), payload);
  }

  /** Queues `disconnect` (its hash is the seal), the ledger seal and the final row; a second call changes nothing. */
  end(status: 'closed' | 'aborted', counters: SessionCounters): Promise<void> {
    this.#ended ??= (() => {
      const time = this.micros();
      const { statements, errors, rows } = counters;
      void this.queue('disconnect', time, { status, counters: { statements, errors, rows } });
      const seal = this.#chain.head;
      void this.writer.insertLedger(this.ledger.append('seal', this.id, seal, time));
      return this.writer.endSession({ id: this.id, status, endedAt: Math.floor(time / 1000), counters: JSON.stringify({ statements, errors, rows }), finalHash: seal });
    })();
    return this.#ended;
  }

  private queue(kind: EventKind, time: number, payload: Readonly<Record<string, unknown>>): Promise<void> {
    const event = this.#chain.next(kind, time, payload);
    this.#last = { sessionId: this.id, seq: event.seq, time, kind, payload, prevHash: event.prevHash, hash: event.hash };
    const essential = kind === 'connect' || kind === 'disconnect';
    return this.writer.insertEvent({ session_id: this.id, seq: event.seq, time, kind, payload: event.payload, prev_hash: event.prevHash, hash: event.hash }, essential);
  }
}
