import type { Socket } from 'node:net';
import { MessageReader, type Frame, type ReaderLimits } from './message-reader.js';

/**
 * Awaitable frames from a socket, for the request/response handshakes (client startup, upstream
 * login). When the handshake is done, `detach()` pauses the socket and hands back the reader with
 * any bytes already buffered, so the relay continues exactly where the handshake stopped.
 */
export class FrameQueue {
  readonly reader: MessageReader;
  #waiter: { resolve: (frame: Frame) => void; reject: (error: Error) => void } | undefined;
  #failure: Error | undefined;
  readonly #onData = (chunk: Buffer) => {
    try {
      this.reader.push(chunk);
      this.#deliver();
    } catch (error) {
      this.#fail(error as Error);
    }
  };
  readonly #onEnd = () => this.#fail(new Error('the connection closed during the handshake'));
  readonly #onError = (error: Error) => this.#fail(error);

  constructor(
    private readonly socket: Socket,
    limits: ReaderLimits,
    options: { readonly startup?: boolean; readonly reader?: MessageReader } = {},
  ) {
    this.reader = options.reader ?? new MessageReader(limits, { startup: options.startup });
    socket.on('data', this.#onData);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
    socket.resume();
  }

  /** The next frame; rejects if the socket closes, errors, or sends a malformed message. */
  next(): Promise<Frame> {
    if (this.#failure) return Promise.reject(this.#failure);
    const frame = this.reader.next();
    if (frame) return Promise.resolve(frame);
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  /** Stops listening; the socket is left paused. */
  detach(): MessageReader {
    this.socket.pause();
    this.socket.off('data', this.#onData);
    this.socket.off('close', this.#onEnd);
    this.socket.off('error', this.#onError);
    return this.reader;
  }

  #deliver(): void {
    const waiter = this.#waiter;
    if (!waiter) return;
    const frame = this.reader.next();
    if (!frame) return;
    this.#waiter = undefined;
    waiter.resolve(frame);
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(this.#failure);
  }
}
