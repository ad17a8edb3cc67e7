import type { Socket } from 'node:net';
import { errorResponse } from './backend-writer.js';
import { observeServerFrame, type CommitBarrier } from './frame-observers.js';
import { FrameWriter } from './frame-writer.js';
import type { Frame, MessageReader } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';
import type { ResultLimiter } from './result-limiter.js';
import { MaskingFailure, type ResultMasker } from './result-masker.js';
import { StatementGate, type GateOptions } from './statement-gate.js';
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
  /** Masks result rows (and samples them for the record). */
  readonly results?: ResultMasker;
  /** Strict durability: a statement completes for the client only once its record is committed. */
  readonly barrier?: CommitBarrier;
  /** The caller's result limits (absent when none applies): it sees every upstream frame first. */
  readonly limiter?: ResultLimiter;
  /** Called once, when both sockets are closed or closing. */
  readonly onEnd: (end: RelayEnd) => void;
  /** Called when the client disconnects with statements still running upstream. */
  readonly onAbandoned: () => void;
  /** What the statement gate needs besides the relay's own writers and log. */
  readonly gate: Omit<GateOptions, 'log' | 'toUpstream' | 'toClient' | 'flush' | 'pauseClient' | 'fail'>;
}

/**
 * Relays an authenticated session in both directions. Client frames pass the statement gate
 * (policy and approvals); frames are inspected only as far as gate and statement log need and
 * forwarded as their original bytes; the gateway writes only its own errors and notices. Each
 * direction pauses its source while the other side's socket is full, so a slow client holds the
 * upstream back instead of growing the gateway's memory.
 */
export class SessionRelay {
  readonly #toUpstream: FrameWriter;
  readonly #toClient: FrameWriter;
  readonly #gate: StatementGate;
  readonly #barrier: CommitBarrier | undefined;
  #ended = false;
  #heldPause = false;
  /** Upstream frames wait while result masking reads the catalog for the columns just described. */
  #upstreamWait = false;

  constructor(
    private readonly client: RelayPeer,
    private readonly upstream: RelayPeer,
    private readonly options: RelayOptions,
  ) {
    this.#toUpstream = new FrameWriter(upstream.socket);
    this.#toClient = new FrameWriter(client.socket);
    // A ReadyForQuery also waits for a limit's CancelRequest to reach the upstream, so that it cannot cancel the next statement.
    this.#barrier = options.limiter ? joinBarriers(options.barrier, options.limiter) : options.barrier;
    this.#gate = new StatementGate({
      ...options.gate,
      log: options.log,
      toUpstream: this.#toUpstream,
      toClient: this.#toClient,
      flush: () => this.#flushAfterGate(),
      pauseClient: (paused) => this.#pauseForHeld(paused),
      fail: (error) => this.#fail('client', error),
    });
  }

  /** A CancelRequest for this session: true when it cancelled a statement or result held for approval. */
  cancelHeld(): boolean {
    return !this.#ended && (this.#gate.cancel() || (this.options.limiter?.cancel() ?? false));
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
    if (!this.#relay(chunk, this.client, this.#toUpstream, 'client', this.#passClient)) return;
    this.#flushAfterGate();
  }

  /** `retry`: a frame taken from the reader before a wait, handed over again first. */
  #fromUpstream(chunk: Buffer, retry?: Frame): void {
    if (this.#upstreamWait) {
      // Kept framed, in order, until the catalog answers.
      if (!this.#ended) this.upstream.reader.push(chunk);
      return;
    }
    if (!this.#relay(chunk, this.upstream, this.#toClient, 'upstream', this.#passUpstream, retry)) return;
    this.#send(this.#toClient, this.client.socket, this.upstream.socket);
  }

  // Bound once: the relay runs them for every frame.
  readonly #passClient = (frame: Frame) => this.#gate.accept(frame);

  /** Returns false to stop reading frames until the upstream wait ends. */
  readonly #passUpstream = (frame: Frame): boolean => {
    const limited = this.options.limiter?.frame(frame);
    if (limited !== undefined) {
      if (limited === 'drop') return true;
      if ('reply' in limited) {
        this.#toUpstream.write(limited.reply);
        this.#send(this.#toUpstream, this.upstream.socket, this.client.socket);
        return true;
      }
      if ('hold' in limited) {
        this.#toClient.write(limited.notice);
        this.#waitUpstream(limited.hold, undefined, frame);
        return false;
      }
      // The statement log records the gateway's error, not the upstream's frame.
      frame = limited.replace;
    }
    const effect = observeServerFrame(this.options.log, frame, this.options.parameters, this.options.results, this.#barrier);
    if (effect === undefined) this.#toClient.forward(frame);
    else if (effect === 'drop') return true;
    else if (Buffer.isBuffer(effect)) this.#toClient.write(effect);
    else if (effect instanceof Promise) {
      this.#toClient.forward(frame);
      this.#waitUpstream(effect);
      return false;
    } else {
      this.#waitUpstream(effect.until, frame);
      return false;
    }
    return true;
  };

  /**
   * Stops relaying upstream frames until `until` settles; the ones already framed stay queued in
   * the reader, and `held` (a frame that may only go out afterwards) is forwarded first, or
   * `retry` (a frame not yet decided on) is passed again first.
   */
  #waitUpstream(until: Promise<void>, held?: Frame, retry?: Frame): void {
    this.#upstreamWait = true;
    this.upstream.socket.pause();
    // Everything before the held frame goes out now: only the completion waits.
    this.#send(this.#toClient, this.client.socket, this.upstream.socket);
    until.then(
      () => {
        this.#upstreamWait = false;
        if (this.#ended) return;
        if (held) this.#toClient.forward(held);
        this.#fromUpstream(Buffer.alloc(0), retry);
        this.#resumeUpstream();
      },
      (error: unknown) => {
        this.#upstreamWait = false;
        this.#toClient.discard();
        this.#fail('upstream', error);
      },
    );
  }

  /** Frames `chunk` from `source` and hands each frame to `pass` until it returns false; false when the session failed. */
  #relay(chunk: Buffer, source: RelayPeer, writer: FrameWriter, side: 'client' | 'upstream', pass: (frame: Frame) => boolean | void, first?: Frame): boolean {
    if (this.#ended) return false;
    try {
      source.reader.push(chunk);
      if (first && pass(first) === false) return true;
      let frame: Frame | undefined;
      while ((frame = source.reader.next())) if (pass(frame) === false) break;
    } catch (error) {
      writer.discard();
      this.#fail(side, error);
      return false;
    }
    return true;
  }

  /** The gate may have written both ways: statements upstream, notices to the client. */
  #flushAfterGate(): void {
    if (this.#ended) return;
    this.#send(this.#toUpstream, this.upstream.socket, this.client.socket);
    this.#send(this.#toClient, this.client.socket, this.upstream.socket);
    if (this.#gate.terminated) this.upstream.socket.end();
  }

  #pauseForHeld(paused: boolean): void {
    if (paused === this.#heldPause || this.#ended) return;
    this.#heldPause = paused;
    if (paused) this.client.socket.pause();
    else this.client.socket.resume();
  }

  /** Flushes toward `sink`; while it is full, `source` stops being read. */
  #send(writer: FrameWriter, sink: Socket, source: Socket): void {
    if (writer.flush() || sink.destroyed) return;
    if (source.isPaused()) return;
    source.pause();
    sink.once('drain', () => {
      if (source === this.upstream.socket) this.#resumeUpstream();
      else if (!this.#ended && !this.#heldPause) source.resume();
    });
  }

  /** Reads the upstream again, once the client can take more (a catalog wait may end with the client full). */
  #resumeUpstream(): void {
    if (this.#ended || this.#upstreamWait) return;
    if (this.client.socket.writableNeedDrain) {
      this.client.socket.once('drain', () => this.#resumeUpstream());
      return;
    }
    this.upstream.socket.resume();
  }

  #clientGone(): void {
    if (this.#ended) return;
    const terminated = this.#gate.terminated;
    this.#gate.close('the client disconnected');
    if (this.options.log.inFlight && !terminated) this.options.onAbandoned();
    this.upstream.socket.end();
    this.#end({ status: 'closed', reason: terminated ? 'client terminated' : 'client disconnected' });
  }

  #upstreamGone(): void {
    if (this.#ended) return;
    if (this.#gate.terminated) {
      this.client.socket.end();
      this.#end({ status: 'closed', reason: 'client terminated' });
      return;
    }
    const message = `the upstream connection of resource "${this.options.resource}" was lost`;
    this.client.socket.end(errorResponse({ severity: 'FATAL', code: '08006', message }));
    this.#end({ status: 'aborted', reason: message, sqlstate: '08006', source: 'upstream' });
  }

  #fail(source: 'client' | 'upstream', error: unknown): void {
    if (error instanceof MaskingFailure) {
      // Not the upstream's fault: the gateway will not let through rows it cannot mask.
      this.client.socket.end(errorResponse({ severity: 'FATAL', code: error.sqlstate, message: error.message }));
      this.upstream.socket.destroy();
      this.#end({ status: 'aborted', reason: error.message, sqlstate: error.sqlstate, source: 'gateway' });
      return;
    }
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
    this.#gate.close(end.reason);
    this.options.limiter?.close(end.reason);
    this.options.onEnd(end);
  }
}

/** One barrier that waits for both. */
function joinBarriers(first: CommitBarrier | undefined, second: CommitBarrier): CommitBarrier {
  return {
    take() {
      const a = first?.take();
      const b = second.take();
      return a && b ? Promise.all([a, b]).then(() => undefined) : (a ?? b);
    },
  };
}
