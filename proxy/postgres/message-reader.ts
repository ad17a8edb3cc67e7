import { describeCode } from './message-codes.js';
import { ProtocolError } from './protocol-error.js';

/**
 * One complete protocol message: `buffer[start, end)` are its original bytes, header included,
 * so a relay forwards it untouched. Startup-phase packets have no type byte: `code` is 0 and the
 * body starts at `start + 4`; otherwise the body starts at `start + 5`.
 */
export interface Frame {
  readonly code: number;
  readonly buffer: Buffer;
  readonly start: number;
  readonly end: number;
}

export interface ReaderLimits {
  /** Largest typed message accepted, header included. */
  readonly maxMessage: number;
  /** Largest startup-phase packet (PostgreSQL's own limit is 10,000 bytes). */
  readonly maxStartup: number;
}

export const MAX_STARTUP_PACKET = 10_000;

/**
 * Clients: room for a JWT password, long statements, COPY rows and large bound values, yet a
 * bound on what one message can make the gateway buffer.
 */
export const CLIENT_LIMITS: ReaderLimits = { maxMessage: 64 * 1024 * 1024, maxStartup: MAX_STARTUP_PACKET };

/**
 * Before a client has authenticated: enough for a password message carrying a JWT, and no more,
 * so an anonymous connection cannot make the gateway reserve a large buffer.
 */
export const LOGIN_LIMITS: ReaderLimits = { maxMessage: 64 * 1024, maxStartup: MAX_STARTUP_PACKET };

/** The upstream: PostgreSQL's own ceiling for one message (a DataRow holding a 1 GB value). */
export const UPSTREAM_LIMITS: ReaderLimits = { maxMessage: 0x3fffffff + 1, maxStartup: MAX_STARTUP_PACKET };

const EMPTY = Buffer.alloc(0);

/**
 * Frames a byte stream into complete messages, in pg-protocol's style: one buffer with cursors,
 * complete messages only. Frames are views, never copies, and the reader never writes into bytes
 * it has handed out, so a frame stays valid while a socket write of it is queued. A message split
 * across chunks is assembled once into a buffer sized for it, so a large COPY row arriving in
 * many chunks is copied once, not once per chunk.
 */
export class MessageReader {
  #buffer: Buffer = EMPTY;
  #offset = 0;
  #length = 0;
  /** Chunks received after a message that filled its assembly buffer, not yet merged. */
  readonly #rest: Buffer[] = [];
  #startup: boolean;

  constructor(
    private limits: ReaderLimits,
    options: { readonly startup?: boolean } = {},
  ) {
    this.#startup = options.startup ?? false;
  }

  /** Changes the caps for the messages still to come (e.g. once a client has logged in). */
  useLimits(limits: ReaderLimits): void {
    this.limits = limits;
  }

  /** The next packet has no type byte (the startup phase, again after an SSLRequest). */
  expectStartup(startup = true): void {
    this.#startup = startup;
  }

  /** Bytes received but not yet returned as frames. */
  get buffered(): number {
    return this.#rest.reduce((sum, chunk) => sum + chunk.length, this.#length - this.#offset);
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.#rest.length > 0) this.#rest.push(chunk);
    else this.#append(chunk);
  }

  /** The next complete frame, or undefined until more bytes arrive. Throws ProtocolError. */
  next(): Frame | undefined {
    for (;;) {
      const frame = this.#frameAtCursor();
      if (frame || this.#rest.length === 0) return frame;
      if (this.#offset === this.#length) {
        this.#buffer = this.#rest.shift()!;
        this.#offset = 0;
        this.#length = this.#buffer.length;
      } else {
        for (const chunk of this.#rest.splice(0)) this.push(chunk);
      }
    }
  }

  #append(chunk: Buffer): void {
    const leftover = this.#length - this.#offset;
    if (leftover === 0) {
      this.#buffer = chunk;
      this.#offset = 0;
      this.#length = chunk.length;
      return;
    }
    const pending = this.#pendingMessageLength();
    // Only the bytes that complete the pending message are copied into its buffer; the rest of
    // the chunk waits in #rest, so a large message is never copied twice.
    const take = pending === undefined ? chunk.length : Math.min(chunk.length, pending - leftover);
    if (this.#buffer.length - this.#length < take) {
      const next = Buffer.allocUnsafe(Math.max(leftover + take, pending ?? 0));
      this.#buffer.copy(next, 0, this.#offset, this.#length);
      this.#buffer = next;
      this.#offset = 0;
      this.#length = leftover;
    }
    // Bytes past #length in a buffer this reader allocated were never handed out: safe to fill.
    chunk.copy(this.#buffer, this.#length, 0, take);
    this.#length += take;
    if (take < chunk.length) this.#rest.push(chunk.subarray(take));
  }

  #frameAtCursor(): Frame | undefined {
    const header = this.#startup ? 4 : 5;
    const available = this.#length - this.#offset;
    if (available < header) return undefined;
    const total = this.#messageLength();
    if (available < total) return undefined;
    const buffer = this.#buffer;
    const start = this.#offset;
    this.#offset += total;
    if (this.#offset === this.#length) {
      // Drop the reference so a consumed chunk can be collected while the socket idles.
      this.#buffer = EMPTY;
      this.#offset = this.#length = 0;
    }
    return { code: header === 4 ? 0 : buffer[start]!, buffer, start, end: start + total };
  }

  /** Total length of the message at the cursor (validated), or undefined when its header is incomplete. */
  #pendingMessageLength(): number | undefined {
    const header = this.#startup ? 4 : 5;
    return this.#length - this.#offset >= header ? this.#messageLength() : undefined;
  }

  #messageLength(): number {
    const at = this.#offset;
    if (this.#startup) {
      const length = this.#buffer.readInt32BE(at);
      if (length < 8 || length > this.limits.maxStartup) {
        throw new ProtocolError(`invalid startup packet length ${length} (allowed 8..${this.limits.maxStartup} bytes)`);
      }
      return length;
    }
    const length = this.#buffer.readInt32BE(at + 1);
    if (length < 4) throw new ProtocolError(`invalid length ${length} in a ${describeCode(this.#buffer[at]!)} message`);
    if (length + 1 > this.limits.maxMessage) {
      throw new ProtocolError(
        `a ${describeCode(this.#buffer[at]!)} message of ${length + 1} bytes exceeds the ${this.limits.maxMessage}-byte limit`,
        '54000',
      );
    }
    return length + 1;
  }
}
