import { performance } from 'node:perf_hooks';
import type { AuditStore, RecordedIdentity, SessionRecording } from '../audit/audit-types.js';
import { commandLine } from '../common/command-line.js';

// A terminal session (protocol `exec`) in the audit store, as frames an asciicast v2 file is
// made of (proxy/common/asciicast.ts): what the terminal showed, when, and its size. The same
// whether the output comes from a pty on this host (`sluice exec`) or from a remote `sluice run`
// over the engine API: whoever holds the output calls output().
//
// Events (every payload has `channel: 'terminal'` and `t`, seconds since the recording opened):
//   connect                      the store's own (identity, resource, client, application)
//   notice  action: 'start'      command (argv), cols, rows, links: the asciicast header
//   output  data                 what the terminal showed (already masked: see output-masker.ts)
//   output  cols, rows           a resize (asciicast "r")
//   input   data                 what was typed, only when the owner records input
//   notice  action: 'link'       session: a database or HTTP session the command opened
//   notice  action: 'truncated'  output past `maxBytes` is not recorded (counted)
//   notice  action: 'exit'       exit_code, signal
//   error   source: 'gateway'    why the session was aborted (abort())
//   disconnect                   the store's seal
// Output is batched: one event per `batchMs` or `batchBytes`, whichever comes first, and
// always before an input, resize, link or the end, so events stay in the order things happened.

export interface TerminalStart {
  readonly identity: RecordedIdentity;
  readonly resource: string;
  readonly clientAddress: string;
  readonly application: string | null;
  /** The command as run (argv), as it may be recorded: content detectors already applied by the caller, never a secret. */
  readonly command: readonly string[];
  readonly cols: number;
  readonly rows: number;
  /** Sessions already known to belong to this command. */
  readonly links?: readonly string[];
}

export interface TerminalRecordingOptions {
  /** Longest wait before buffered output is written (default 100 ms). */
  readonly batchMs?: number;
  /** Buffered output written at once past this many characters (default 32 KiB). */
  readonly batchBytes?: number;
  /** Output recorded at most (characters, default 64 MiB); the rest is counted, not kept. */
  readonly maxBytes?: number;
}

export interface TerminalResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
}

export interface TerminalRecording {
  /** The audit session id (a ULID): what `sluice replay` and `sluice export --asciicast` take. */
  readonly sessionId: string;
  /** Terminal output as shown to the caller. Calls after finish/abort are ignored. */
  output(data: string): void;
  /** Keystrokes; record them only where they cannot hold a secret typed with echo off. */
  input(data: string): void;
  resize(cols: number, rows: number): void;
  /** A database or HTTP session this command opened. */
  link(sessionId: string): void;
  /** Flushes, records the exit and closes the session; idempotent (the first of finish/abort wins). */
  finish(result: TerminalResult): Promise<void>;
  /** Flushes, records why and closes the session as aborted; idempotent. */
  abort(reason: string): Promise<void>;
}

const DEFAULT_BATCH_MS = 100;
const DEFAULT_BATCH_BYTES = 32 * 1024;
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;

export function openTerminalRecording(store: Pick<AuditStore, 'beginSession'>, start: TerminalStart, options: TerminalRecordingOptions = {}): TerminalRecording {
  const recording = store.beginSession({
    resource: start.resource,
    protocol: 'exec',
    identity: start.identity,
    clientAddress: start.clientAddress,
    application: start.application,
  });
  return new StoredTerminalRecording(recording, start, options);
}

/**
 * The terminal recording of a session already begun (protocol exec): `sluice exec` records the
 * policy decision and any approval in the session first, then attaches the terminal to it.
 */
export function attachTerminalRecording(recording: SessionRecording, start: Pick<TerminalStart, 'command' | 'cols' | 'rows' | 'links'>, options: TerminalRecordingOptions = {}): TerminalRecording {
  return new StoredTerminalRecording(recording, start, options);
}

class StoredTerminalRecording implements TerminalRecording {
  readonly #recording: SessionRecording;
  readonly #opened = performance.now();
  readonly #batchMs: number;
  readonly #batchBytes: number;
  readonly #maxBytes: number;
  #pending = '';
  #pendingAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #recorded = 0;
  #dropped = 0;
  #ending: Promise<void> | undefined;

  constructor(recording: SessionRecording, start: Pick<TerminalStart, 'command' | 'cols' | 'rows' | 'links'>, options: TerminalRecordingOptions) {
    this.#recording = recording;
    this.#batchMs = options.batchMs ?? DEFAULT_BATCH_MS;
    this.#batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    const cols = size(start.cols);
    const rows = size(start.rows);
    void recording.event('notice', {
      channel: 'terminal',
      action: 'start',
      t: 0,
      severity: 'INFO',
      message: `terminal ${cols}x${rows}: ${commandLine(start.command)}`,
      command: [...start.command],
      cols,
      rows,
      links: [...(start.links ?? [])],
    });
  }

  get sessionId(): string {
    return this.#recording.id;
  }

  output(data: string): void {
    if (this.#ending || data.length === 0) return;
    let kept = data;
    const room = this.#maxBytes - this.#recorded - this.#pending.length;
    if (kept.length > room) {
      kept = cutAt(kept, Math.max(0, room));
      this.#dropped += data.length - kept.length;
    }
    if (kept.length === 0) return;
    if (this.#pending.length === 0) {
      this.#pendingAt = this.#now();
      this.#timer = setTimeout(() => this.#flush(), this.#batchMs);
      // The owner ends the recording; a timer must not keep its process alive.
      this.#timer.unref();
    }
    this.#pending += kept;
    if (this.#pending.length >= this.#batchBytes) this.#flush();
  }

  input(data: string): void {
    if (this.#ending || data.length === 0) return;
    this.#flush();
    void this.#recording.event('input', { channel: 'terminal', t: this.#now(), data });
  }

  resize(cols: number, rows: number): void {
    if (this.#ending) return;
    this.#flush();
    void this.#recording.event('output', { channel: 'terminal', t: this.#now(), cols: size(cols), rows: size(rows) });
  }

  link(sessionId: string): void {
    if (this.#ending) return;
    this.#flush();
    void this.#recording.event('notice', { channel: 'terminal', action: 'link', t: this.#now(), session: sessionId, severity: 'INFO', message: `opened session ${sessionId}` });
  }

  finish(result: TerminalResult): Promise<void> {
    this.#ending ??= (() => {
      this.#flush();
      this.#noteDropped();
      const failed = result.exitCode !== 0;
      void this.#recording.event('notice', {
        channel: 'terminal',
        action: 'exit',
        t: this.#now(),
        severity: failed ? 'WARNING' : 'INFO',
        message: result.signal ? `ended by signal ${result.signal}` : `exited with code ${result.exitCode ?? 'unknown'}`,
        exit_code: result.exitCode,
        signal: result.signal,
      });
      return this.#recording.end('closed', { statements: 1, errors: failed ? 1 : 0, rows: 0 });
    })();
    return this.#ending;
  }

  abort(reason: string): Promise<void> {
    this.#ending ??= (() => {
      this.#flush();
      this.#noteDropped();
      void this.#recording.event('error', { channel: 'terminal', t: this.#now(), source: 'gateway', message: reason });
      return this.#recording.end('aborted', { statements: 1, errors: 1, rows: 0 });
    })();
    return this.#ending;
  }

  #flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    const data = this.#pending;
    this.#pending = '';
    this.#recorded += data.length;
    void this.#recording.event('output', { channel: 'terminal', t: this.#pendingAt, data });
  }

  #noteDropped(): void {
    if (this.#dropped === 0) return;
    void this.#recording.event('notice', {
      channel: 'terminal',
      action: 'truncated',
      t: this.#now(),
      severity: 'WARNING',
      message: `output past ${this.#maxBytes} characters was not recorded (${this.#dropped} characters)`,
      dropped: this.#dropped,
    });
  }

  /** Seconds since the recording opened, to the microsecond. */
  #now(): number {
    return Math.round((performance.now() - this.#opened) * 1000) / 1_000_000;
  }
}

/** The first `length` characters, not ending inside a surrogate pair. */
function cutAt(text: string, length: number): string {
  if (length <= 0) return '';
  const code = text.charCodeAt(length - 1);
  return text.slice(0, code >= 0xd800 && code <= 0xdbff ? length - 1 : length);
}

function size(value: number): number {
  return Number.isFinite(value) ? Math.min(10_000, Math.max(1, Math.round(value))) : 80;
}
