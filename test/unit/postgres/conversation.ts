import { expect } from 'vitest';
import { observeClientFrame, observeServerFrame } from '../../../proxy/postgres/frame-observers.js';
import { CLIENT_LIMITS, MessageReader, UPSTREAM_LIMITS, type Frame } from '../../../proxy/postgres/message-reader.js';
import { StatementLog, type StatementRecord } from '../../../proxy/postgres/statement-log.js';

/**
 * A session as the relay sees it: client and server bytes are framed, decoded and reported to a
 * StatementLog by the relay's own observers (frame-observers.ts), with a clock the test moves by hand.
 */
export class Conversation {
  readonly records: StatementRecord[] = [];
  readonly parameters = new Map<string, string>();
  clock = 1_000;
  readonly log = new StatementLog(
    (record) => this.records.push(record),
    () => this.clock,
  );
  readonly #fromClient = new MessageReader(CLIENT_LIMITS);
  readonly #fromServer = new MessageReader(UPSTREAM_LIMITS);

  client(...messages: Buffer[]): this {
    for (const frame of frames(this.#fromClient, messages)) observeClientFrame(this.log, frame);
    return this;
  }

  server(...messages: Buffer[]): this {
    for (const frame of frames(this.#fromServer, messages)) observeServerFrame(this.log, frame, this.parameters);
    return this;
  }

  /** Moves the clock on by `ms`. */
  wait(ms: number): this {
    this.clock += ms;
    return this;
  }
}

function frames(reader: MessageReader, messages: readonly Buffer[]): Frame[] {
  reader.push(Buffer.concat(messages));
  const out: Frame[] = [];
  let frame: Frame | undefined;
  while ((frame = reader.next())) out.push(frame);
  expect(reader.buffered).toBe(0);
  return out;
}
