// One rewritten chunk of a streamed body: the unchanged runs copied, replacements written in
// place, handed out as one buffer (one write on the wire instead of a piece per replacement).

const EMPTY = Buffer.alloc(0);

export class OutputBuilder {
  #buffer: Buffer = EMPTY;
  length = 0;

  reset(): void {
    this.#buffer = EMPTY;
    this.length = 0;
  }

  reserve(bytes: number): void {
    if (this.#buffer.length - this.length >= bytes) return;
    const next = Buffer.allocUnsafe(Math.max(bytes + this.length, this.#buffer.length * 2, 256));
    this.#buffer.copy(next, 0, 0, this.length);
    this.#buffer = next;
  }

  appendRange(source: Buffer, start: number, end: number): void {
    if (end <= start) return;
    this.reserve(end - start);
    source.copy(this.#buffer, this.length, start, end);
    this.length += end - start;
  }

  appendString(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.reserve(text.length * 3);
    this.length += this.#buffer.write(text, this.length, 'utf8');
  }

  /** The bytes written, as a view; the builder starts over (the view is never written again). */
  take(): Buffer {
    const bytes = this.#buffer.subarray(0, this.length);
    this.reset();
    return bytes;
  }
}
