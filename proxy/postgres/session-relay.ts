import type { Socket } from 'node:net';
import { errorResponse } from './backend-writer.js';
import { observeClientFrame, observeServerFrame } from './frame-observers.js';
import { FrameWriter } from './frame-writer.js';
import type { Frame, MessageReader } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';
import type { StatementLog } from './statement-log.js';

export type RelayEnd =
  | { readonly status: 'closed'; readonly reason: 'client terminated' | 'client disconnected' | 'gateway shutdown' }
  | { readonly status: 'aborted'; readonly reason: string; readonly sqlstate: string; readonly source: 'client' | 'upstream' | 'gateway' };

export interface RelayPeer {
  readonly socket: Socket;
  readonly reader: MessageReader;
}

export interface RelayOptions {
  readonly resource: string;
  readonly log: StatementLog;
  /** The session's current server parameters (search_path, ...), kept up to date. */
  readonly parameters: Map<string, string>;
  /** Called once, when both sockets are closed or closing. */
  readonly onEnd: (end: RelayEnd) => void;
  /** Called when the client disconnects with statements still running upstream. */
  readonly onAbandoned: () => void;
}

/**
 * Relays an authenticated session in both directions. Frames are inspected only as far as the
 * statement log needs and forwarded as their original bytes; the gateway writes only its own
 * errors. Each direction pauses its source while the other side's socket is full, so a slow
 * client holds the upstream back instead of growing the gateway's memory.
 */
export class SessionRelay {
  readonly #toUpstream: FrameWriter;
  readonly #toClient: FrameWriter;
  #ended = false;
  #terminated = false;

  constructor(
    private readonly client: RelayPeer,
    private readonly upstream: RelayPeer,
    private readonly options: RelayOptions,
  ) {
    this.#toUpstream = new FrameWriter(upstream.socket);
    this.#toClient = new FrameWriter(client.socket);
  }

  start(): void {
    const { client, upstream } = this;
    client.socket.on('data', (chunk: Buffer) => this.#fromClient(chunk));
    upstream.socket.on('data', (chunk: Buffer) => this.#fromUpstream(chunk));
    client.socket.on('close', () => this.#clientGone());
    upstream.socket.on('close', () => this.#upstreamGone());
    // 'close' follows every 'error'; the listeners only keep an error from crashing the process.
    client.socket.on('error', () => {});
    upstream.socket.on('error', () => {});
    // Frames that arrived with the end of the login are already buffered.
    this.#fromClient(Buffer.alloc(0));
    this.#fromUpstream(Buffer.alloc(0));
    client.socket.resume();
    upstream.socket.resume();
  }

  /** Ends the session from the gateway's side with a FATAL error to the client. */
  shutdown(message: string, sqlstate = '57P01'): void {
    if (this.#ended) return;
    this.client.socket.end(errorResponse({ severity: 'FATAL', code: sqlstate, message }));
    this.upstream.socket.end();
    this.#end(sqlstate === '57P01' ? { status: 'closed', reason: 'gateway shutdown' } : { status: 'aborted', reason: message, sqlstate, source: 'gateway' });
  }

  #fromClient(chunk: Buffer): void {
    this.#relay(chunk, this.client, this.upstream, this.#toUpstream, 'client', this.#observeClient);
    if (this.#terminated) this.upstream.socket.end();
  }

  #fromUpstream(chunk: Buffer): void {
    this.#relay(chunk, this.upstream, this.client, this.#toClient, 'upstream', this.#observeUpstream);
  }

  // Bound once: the relay runs them for every frame.
  readonly #observeClient = (frame: Frame) => {
    if (observeClientFrame(this.options.log, frame).terminate) this.#terminated = true;
  };

  readonly #observeUpstream = (frame: Frame) => observeServerFrame(this.options.log, frame, this.options.parameters);

  /** Frames `chunk` from `source`, lets `observe` read each frame, and forwards them all to `sink`. */
  #relay(chunk: Buffer, source: RelayPeer, sink: RelayPeer, writer: FrameWriter, side: 'client' | 'upstream', observe: (frame: Frame) => void): void {
    if (this.#ended) return;
    try {
      source.reader.push(chunk);
      let frame: Frame | undefined;
      while ((frame = source.reader.next())) {
        observe(frame);
        writer.forward(frame);
      }
    } catch (error) {
      writer.discard();
      this.#fail(side, error);
      return;
    }
    this.#send(writer, sink.socket, source.socket);
  }

  /** Flushes toward `sink`; while it is full, `source` stops being read. */
  #send(writer: FrameWriter, sink: Socket, source: Socket): void {
    if (writer.flush() || sink.destroyed) return;
    if (source.isPaused()) return;
    source.pause();
    sink.once('drain', () => {
      if (!this.#ended) source.resume();
    });
  }

  #clientGone(): void {
    if (this.#ended) return;
    if (this.options.log.inFlight && !this.#terminated) this.options.onAbandoned();
    this.upstream.socket.end();
    this.#end({ status: 'closed', reason: this.#terminated ? 'client terminated' : 'client disconnected' });
  }

  #upstreamGone(): void {
    if (this.#ended) return;
    if (this.#terminated) {
      this.client.socket.end();
      this.#end({ status: 'closed', reason: 'client terminated' });
      return;
    }
    const message = `the upstream connection of resource "${this.options.resource}" was lost`;
    this.client.socket.end(errorResponse({ severity: 'FATAL', code: '08006', message }));
    this.#end({ status: 'aborted', reason: message, sqlstate: '08006', source: 'upstream' });
  }

  #fail(source: 'client' | 'upstream', error: unknown): void {
    const protocol = error instanceof ProtocolError;
    const detail = protocol ? error.message : `internal error: ${(error as Error).message}`;
    const message = source === 'client' ? detail : `the upstream of resource "${this.options.resource}" broke the protocol: ${detail}`;
    const sqlstate = protocol ? (source === 'client' ? error.sqlstate : '08006') : 'XX000';
    this.client.socket.end(errorResponse({ severity: 'FATAL', code: sqlstate, message }));
    this.upstream.socket.destroy();
    this.#end({ status: 'aborted', reason: message, sqlstate, source });
  }

  #end(end: RelayEnd): void {
    if (this.#ended) return;
    this.#ended = true;
    this.options.onEnd(end);
  }
}
