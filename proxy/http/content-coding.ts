import { Transform, type TransformCallback } from 'node:stream';
import { constants, createBrotliCompress, createBrotliDecompress, createDeflate, createGunzip, createGzip, createInflate, createInflateRaw } from 'node:zlib';

// Content codings of response bodies the gateway masks: decoded before masking, re-encoded after
// with the same coding (fast settings: the gateway is on the data path, not an archiver).

export type Coding = 'gzip' | 'deflate' | 'br';

/** The coding named by a Content-Encoding value: undefined for identity, null for one the gateway cannot decode (or a stack of several). */
export function codingOf(value: string | undefined): Coding | undefined | null {
  if (value === undefined) return undefined;
  const codings = value.split(',').map((part) => part.trim().toLowerCase()).filter((part) => part !== '' && part !== 'identity');
  if (codings.length === 0) return undefined;
  if (codings.length > 1) return null;
  const [coding] = codings;
  if (coding === 'gzip' || coding === 'x-gzip') return 'gzip';
  if (coding === 'deflate') return 'deflate';
  if (coding === 'br') return 'br';
  return null;
}

export function decoder(coding: Coding): Transform {
  switch (coding) {
    case 'gzip':
      // Concatenated gzip members are one body (RFC 1952); zlib's default already reads them all.
      return createGunzip();
    case 'br':
      return createBrotliDecompress();
    case 'deflate':
      return new DeflateDecoder();
  }
}

export function encoder(coding: Coding): Transform {
  switch (coding) {
    case 'gzip':
      return createGzip({ level: 4 });
    case 'br':
      return createBrotliCompress({ params: { [constants.BROTLI_PARAM_QUALITY]: 4 } });
    case 'deflate':
      return createDeflate({ level: 4 });
  }
}

/**
 * `deflate` is meant to be zlib-wrapped (RFC 9110), but some servers send raw deflate: the first
 * byte tells (a zlib header's low nibble is 8, and the two header bytes are a multiple of 31).
 */
class DeflateDecoder extends Transform {
  #inner: Transform | undefined;
  #first: Buffer | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (!this.#inner) {
      const head = this.#first ? Buffer.concat([this.#first, chunk]) : chunk;
      if (head.length < 2) {
        this.#first = head;
        callback();
        return;
      }
      this.#first = undefined;
      const wrapped = (head[0]! & 0x0f) === 8 && ((head[0]! << 8) | head[1]!) % 31 === 0;
      this.#inner = wrapped ? createInflate() : createInflateRaw();
      // Backpressure: a small body can inflate to gigabytes; the inner stream waits for our reader.
      this.#inner.on('data', (data: Buffer) => {
        if (!this.push(data)) this.#inner!.pause();
      });
      this.#inner.on('error', (error) => this.destroy(error));
      chunk = head;
    }
    this.#write(chunk, callback);
  }

  override _read(size: number): void {
    this.#inner?.resume();
    super._read(size);
  }

  override _flush(callback: TransformCallback): void {
    if (!this.#inner) {
      callback(this.#first && this.#first.length > 0 ? new Error('the deflate body is truncated') : undefined);
      return;
    }
    this.#inner.once('end', () => callback());
    this.#inner.end();
  }

  #write(chunk: Buffer, callback: TransformCallback): void {
    if (this.#inner!.write(chunk)) callback();
    else this.#inner!.once('drain', () => callback());
  }
}
