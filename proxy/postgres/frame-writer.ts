import type { Socket } from 'node:net';
import type { Frame } from './message-reader.js';

/**
 * Writes frames to a socket, coalescing frames that sit next to each other in the same received
 * chunk into one write: a chunk of a thousand DataRows the engine leaves alone goes out as one
 * slice of the original bytes.
 */
export class FrameWriter {
  #buffer: Buffer | undefined;
  #start = 0;
  #end = 0;
  readonly #pieces: Buffer[] = [];
  /** The gateway's own messages since the last forwarded run: joined into one piece. */
  readonly #own: Buffer[] = [];

  constructor(private readonly socket: Socket) {}

  forward(frame: Frame): void {
    if (this.#buffer === frame.buffer && this.#end === frame.start) {
      this.#end = frame.end;
      return;
    }
    this.#takeRun();
    this.#takeOwn();
    this.#buffer = frame.buffer;
    this.#start = frame.start;
    this.#end = frame.end;
  }

  /** A message the gateway wrote itself, in order with the forwarded ones. */
  write(bytes: Buffer): void {
    this.#takeRun();
    this.#own.push(bytes);
  }

  /** Sends what was queued; false when the socket's buffer is full (the caller pauses its source). */
  flush(): boolean {
    this.#takeRun();
    this.#takeOwn();
    const pieces = this.#pieces;
    if (this.socket.destroyed) pieces.length = 0;
    if (pieces.length === 0) return true;
    let ok = true;
    if (pieces.length === 1) {
      ok = this.socket.write(pieces[0]!);
    } else {
      this.socket.cork();
      for (const piece of pieces) ok = this.socket.write(piece) && ok;
      this.socket.uncork();
    }
    pieces.length = 0;
    return ok;
  }

  /** Drops queued bytes (the session is failing; they must not reach the peer). */
  discard(): void {
    this.#buffer = undefined;
    this.#pieces.length = 0;
    this.#own.length = 0;
  }

  /**
   * Consecutive messages the gateway wrote (masked rows: thousands per chunk) become one piece:
   * a copy costs less than a socket write request per row.
   */
  #takeOwn(): void {
    const own = this.#own;
    if (own.length === 0) return;
    this.#pieces.push(own.length === 1 ? own[0]! : Buffer.concat(own));
    own.length = 0;
  }

  #takeRun(): void {
    const buffer = this.#buffer;
    if (!buffer) return;
    // The common case, a whole received chunk forwarded untouched, needs no new Buffer view.
    this.#pieces.push(this.#start === 0 && this.#end === buffer.length ? buffer : buffer.subarray(this.#start, this.#end));
    this.#buffer = undefined;
  }
}
