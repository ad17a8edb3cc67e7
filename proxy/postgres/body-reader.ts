import type { Frame } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';

/**
 * Reads one frame's body with bounds checks: a short or lying message is a ProtocolError, never a
 * RangeError, a read into the next message, or a loop that does not end.
 */
export class BodyReader {
  #at: number;

  constructor(
    private readonly frame: Frame,
    private readonly what: string,
  ) {
    this.#at = frame.start + (frame.code === 0 ? 4 : 5);
  }

  int16(): number {
    this.#need(2);
    const value = this.frame.buffer.readInt16BE(this.#at);
    this.#at += 2;
    return value;
  }

  /** An unsigned 16-bit count, as PostgreSQL reads parameter and format counts. */
  uint16(): number {
    this.#need(2);
    const value = this.frame.buffer.readUInt16BE(this.#at);
    this.#at += 2;
    return value;
  }

  int32(): number {
    this.#need(4);
    const value = this.frame.buffer.readInt32BE(this.#at);
    this.#at += 4;
    return value;
  }

  byte(): number {
    this.#need(1);
    return this.frame.buffer[this.#at++]!;
  }

  cstring(): string {
    const nul = this.frame.buffer.indexOf(0, this.#at);
    if (nul < 0 || nul >= this.frame.end) throw this.malformed('a string is not terminated');
    const value = this.frame.buffer.toString('utf8', this.#at, nul);
    this.#at = nul + 1;
    return value;
  }

  bytes(length: number): Buffer {
    this.#need(length);
    const value = this.frame.buffer.subarray(this.#at, this.#at + length);
    this.#at += length;
    return value;
  }

  /** The rest of the body. */
  rest(): Buffer {
    return this.bytes(this.remaining);
  }

  get remaining(): number {
    return this.frame.end - this.#at;
  }

  malformed(reason: string): ProtocolError {
    return new ProtocolError(`malformed ${this.what} message: ${reason}`);
  }

  #need(bytes: number): void {
    if (bytes < 0 || this.#at + bytes > this.frame.end) throw this.malformed('it is shorter than its contents');
  }
}
