import type { ContentMasker } from '../masking/masking-types.js';

// Terminal output through the content detectors (the caller's masking profile) and a scrubber
// of the gateway's own secrets, as it streams. Detectors see whole lines, so a value split
// across chunks is masked whole: text is emitted up to its last line break (\n or \r: progress
// bars redraw with \r), or up to the BEGIN of a PEM block still open.
//
// A terminal also shows text that never gets a line break: prompts ("app=> ", "Password: ").
// After `idleMs` with no more output, the pending text goes out up to its last whitespace, less
// any tail that could be the start of a held secret; a value being written goes on waiting.
// After `holdMs` with nothing more, everything pending goes out. So a value is seen whole when
// its parts arrive less than `holdMs` apart (or `idleMs` apart for values with spaces in them,
// like a card number written as 4111 1111 ...); a program pausing longer mid-value is not what
// detectors are for.
//
// Build one from a loaded config (see also `maskerFor` in exec-session.ts):
//   const key = await loadOrCreateMaskingKey(config.data_dir);            // masking/masking-key.ts
//   const profile = new MaskingRules(config.masking, key).profileFor(identity.groups);
//   const masker = createOutputMasker({ content: profile.content, secrets }, (data) => ...);
// (inside the engine, `masking.rules.profileFor(groups)` is that MaskingRules already built).
// `secrets` are the values the gateway injected into the command (exec resources' env and
// files), revealed: they are replaced by `[secret]` wherever they appear.

export interface OutputMaskerOptions {
  /** The caller's content rules (a MaskingProfile's `content`); absent: detectors are not applied. */
  readonly content?: ContentMasker;
  /** Exact values to replace with `[secret]` (shorter than MIN_SCRUBBED_LENGTH are left: they occur by chance). */
  readonly secrets?: readonly string[];
  /** Quiet time before a prompt without a line break goes out (default 40 ms). */
  readonly idleMs?: number;
  /** Quiet time before everything pending goes out, a word in progress included (default 500 ms). */
  readonly holdMs?: number;
  /** The longest run held waiting for a line break (default 64 KiB): then cut at its last space, or there. */
  readonly maxLine?: number;
}

export interface OutputMasker {
  /** Takes a chunk of output; masked text goes to onMasked now or later (never out of order). */
  write(data: string): void;
  /** Emits everything pending now (masked), as at the end. */
  flush(): void;
  /** Flushes and stops the timers; writes after it are masked and emitted at once. */
  end(): void;
  /** Matches replaced so far, per masking rule name. */
  readonly hits: ReadonlyMap<string, number>;
  /** Held secrets replaced so far. */
  readonly secretsReplaced: number;
}

export const SECRET_REPLACEMENT = '[secret]';
export const MIN_SCRUBBED_LENGTH = 6;
/** What a `null`-strategy rule leaves of a line: a terminal line has no NULL. */
export const NULLED_LINE = '[hidden by a masking rule]';
const DEFAULT_IDLE_MS = 40;
const DEFAULT_HOLD_MS = 500;
const DEFAULT_MAX_LINE = 64 * 1024;
const PEM_BEGIN = '-----BEGIN ';
const PEM_END = '-----END ';
/** A PEM block longer than this is not a key: it is not held back whole. */
const MAX_PEM = 64 * 1024;
const WHITESPACE = /\s/;

export function createOutputMasker(options: OutputMaskerOptions, onMasked: (data: string) => void): OutputMasker {
  return new StreamingOutputMasker(options, onMasked);
}

class StreamingOutputMasker implements OutputMasker {
  readonly hits = new Map<string, number>();
  secretsReplaced = 0;
  readonly #content: ContentMasker | undefined;
  readonly #secrets: readonly string[];
  readonly #idleMs: number;
  readonly #holdMs: number;
  readonly #maxLine: number;
  readonly #emit: (data: string) => void;
  #pending = '';
  #timer: NodeJS.Timeout | undefined;
  #ended = false;

  constructor(options: OutputMaskerOptions, onMasked: (data: string) => void) {
    this.#content = options.content && !options.content.empty ? options.content : undefined;
    // Longest first, so a value that contains another is replaced whole.
    this.#secrets = [...new Set((options.secrets ?? []).filter((value) => value.length >= MIN_SCRUBBED_LENGTH))].sort((a, b) => b.length - a.length);
    this.#idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
    this.#holdMs = options.holdMs ?? DEFAULT_HOLD_MS;
    this.#maxLine = options.maxLine ?? DEFAULT_MAX_LINE;
    this.#emit = onMasked;
  }

  write(data: string): void {
    if (data.length === 0) return;
    if (this.#ended) {
      this.#out(data);
      return;
    }
    this.#pending += data;
    const cut = this.#lineCut(this.#pending);
    if (cut > 0) this.#take(cut);
    this.#arm(this.#idleMs, () => this.#idle());
  }

  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length > 0) this.#take(this.#pending.length);
  }

  end(): void {
    this.flush();
    this.#ended = true;
  }

  /** Quiet for idleMs: out up to the last whitespace, less what may begin a secret; the rest after holdMs. */
  #idle(): void {
    const text = this.#pending;
    let cut = lastWhitespace(text) + 1;
    cut = Math.min(cut, openPem(text) ?? cut, this.#secretStart(text));
    if (cut > 0) this.#take(cut);
    if (this.#pending.length > 0) this.#arm(this.#holdMs, () => this.flush());
  }

  #arm(ms: number, then: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#pending.length === 0) return;
    this.#timer = setTimeout(then, ms);
    // Pending output never keeps a process alive: end() flushes it.
    this.#timer.unref();
  }

  /** After the last line break outside an open PEM block; a line past maxLine is cut at its last space, or at maxLine. */
  #lineCut(text: string): number {
    let cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r')) + 1;
    if (cut > 0) cut = Math.min(cut, openPem(text.slice(0, cut)) ?? cut);
    if (text.length - cut < this.#maxLine) return cut;
    const space = lastWhitespace(text);
    return space >= cut ? space + 1 : text.length;
  }

  /** Where a tail that is the start of a held secret begins (text.length when none). */
  #secretStart(text: string): number {
    let start = text.length;
    for (const secret of this.#secrets) {
      for (let length = Math.min(secret.length - 1, text.length); length > 0; length--) {
        if (text.length - length < start && text.endsWith(secret.slice(0, length))) {
          start = text.length - length;
          break;
        }
      }
    }
    return start;
  }

  #take(cut: number): void {
    const text = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    this.#out(text);
  }

  #out(text: string): void {
    let masked = text;
    for (const secret of this.#secrets) {
      if (!masked.includes(secret)) continue;
      const parts = masked.split(secret);
      this.secretsReplaced += parts.length - 1;
      masked = parts.join(SECRET_REPLACEMENT);
    }
    if (this.#content) masked = this.#detect(masked);
    this.#emit(masked);
  }

  /** Content rules line by line: a `null` strategy hides its line, not the whole chunk. */
  #detect(text: string): string {
    const content = this.#content!;
    const whole = content.mask(text, this.hits);
    if (whole !== null) return whole ?? text;
    // Counted already by the whole-text pass: count each line's hits into a scratch map.
    const scratch = new Map<string, number>();
    return text.replace(/[^\r\n]+/g, (line) => {
      const masked = content.mask(line, scratch);
      return masked === null ? NULLED_LINE : (masked ?? line);
    });
  }
}

/** Index of the last whitespace character, -1 when none. */
function lastWhitespace(text: string): number {
  for (let i = text.length - 1; i >= 0; i--) if (WHITESPACE.test(text[i]!)) return i;
  return -1;
}

/** Where a PEM block whose END line has not arrived whole begins, when it is short enough to wait for. */
function openPem(text: string): number | undefined {
  const begin = text.lastIndexOf(PEM_BEGIN);
  if (begin === -1) return undefined;
  const end = text.indexOf(PEM_END, begin);
  const closed = end !== -1 && /[\r\n]/.test(text.slice(end));
  return closed || text.length - begin > MAX_PEM ? undefined : begin;
}
