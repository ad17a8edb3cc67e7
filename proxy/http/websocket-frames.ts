// WebSocket frames (RFC 6455 section 5), read as they stream by: headers decoded, payloads
// unmasked only as far as the record or the masker needs them. The gateway offers no extension
// upstream (it drops Sec-WebSocket-Extensions), so RSV bits must be 0 and payloads are plain.

export const OPCODES: Readonly<Record<number, string>> = { 0: 'continuation', 1: 'text', 2: 'binary', 8: 'close', 9: 'ping', 10: 'pong' };

export class FrameError extends Error {
  constructor(
    message: string,
    /** The close code to send (1002 protocol error, 1009 too big, 1003 unacceptable data). */
    readonly closeCode: number,
  ) {
    super(message);
    this.name = 'FrameError';
  }
}

export interface FrameHeader {
  readonly fin: boolean;
  readonly opcode: number;
  readonly mask: Buffer | undefined;
  readonly length: number;
  /** Bytes of the header itself (2 to 14). */
  readonly size: number;
}

/** The frame header at the start of `bytes`, or undefined when more bytes are needed. */
export function readFrameHeader(bytes: Buffer): FrameHeader | undefined {
  if (bytes.length < 2) return undefined;
  const first = bytes[0]!;
  const second = bytes[1]!;
  if ((first & 0x70) !== 0) throw new FrameError('a frame sets reserved bits, but no extension was negotiated', 1002);
  const opcode = first & 0x0f;
  if (OPCODES[opcode] === undefined) throw new FrameError(`unknown frame opcode ${opcode}`, 1002);
  const fin = (first & 0x80) !== 0;
  if (opcode >= 8 && (!fin || (second & 0x7f) > 125)) throw new FrameError('a control frame is fragmented or longer than 125 bytes', 1002);
  let length = second & 0x7f;
  let size = 2;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = bytes.readUInt16BE(2);
    size = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    const high = bytes.readUInt32BE(2);
    // Past 2^53 the length is not a safe integer; nothing real is that long.
    if (high > 0x1fffff) throw new FrameError('a frame is longer than 2^53 bytes', 1009);
    length = high * 0x1_0000_0000 + bytes.readUInt32BE(6);
    size = 10;
  }
  const masked = (second & 0x80) !== 0;
  if (masked) {
    if (bytes.length < size + 4) return undefined;
    return { fin, opcode, mask: Buffer.from(bytes.subarray(size, size + 4)), length, size: size + 4 };
  }
  return { fin, opcode, mask: undefined, length, size };
}

/** XORs `payload` (which starts `offset` bytes into its frame's payload) with the frame's mask, in place. */
export function unmask(payload: Buffer, mask: Buffer, offset: number): void {
  for (let i = 0; i < payload.length; i++) payload[i]! ^= mask[(offset + i) & 3]!;
}

/** An unmasked frame (what a server sends). */
export function frame(opcode: number, payload: Buffer, fin = true): Buffer {
  const length = payload.length;
  const size = length < 126 ? 2 : length < 0x10000 ? 4 : 10;
  const header = Buffer.alloc(size);
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (size === 2) {
    header[1] = length;
  } else if (size === 4) {
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header[1] = 127;
    header.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    header.writeUInt32BE(length >>> 0, 6);
  }
  return Buffer.concat([header, payload]);
}

/** A close frame with a status code and a reason (cut to fit the 125-byte control frame). */
export function closeFrame(code: number, reason: string): Buffer {
  const text = Buffer.from(reason, 'utf8').subarray(0, 123);
  const payload = Buffer.alloc(2 + text.length);
  payload.writeUInt16BE(code, 0);
  text.copy(payload, 2);
  return frame(8, payload);
}

export interface ObservedMessage {
  /** The message's opcode (its first frame's: text, binary, or a control opcode). */
  readonly opcode: number;
  readonly bytes: number;
  /** The first bytes of its payload, unmasked. */
  readonly sample: Buffer;
}

/**
 * Reads frames as they pass, without holding them: reports each message (a control frame, or a
 * data message's frames up to FIN) with its size and the first `sampleBytes` of its payload.
 */
export class FrameObserver {
  #header = Buffer.alloc(0);
  #current: FrameHeader | undefined;
  /** Payload bytes of the current frame still to come. */
  #remaining = 0;
  #frameOffset = 0;
  #message: { opcode: number; bytes: number; sample: Buffer[]; kept: number } | undefined;

  constructor(
    private readonly sampleBytes: number,
    private readonly onMessage: (message: ObservedMessage) => void,
  ) {}

  write(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (!this.#current) {
        const need = Math.min(chunk.length - at, 14 - this.#header.length);
        const candidate = Buffer.concat([this.#header, chunk.subarray(at, at + need)]);
        const header = readFrameHeader(candidate);
        if (!header) {
          this.#header = candidate;
          at += need;
          continue;
        }
        at += header.size - this.#header.length;
        this.#header = Buffer.alloc(0);
        this.#start(header);
        if (this.#remaining === 0) this.#end();
        continue;
      }
      const take = Math.min(this.#remaining, chunk.length - at);
      this.#payload(chunk.subarray(at, at + take));
      at += take;
      this.#remaining -= take;
      if (this.#remaining === 0) this.#end();
    }
  }

  #start(header: FrameHeader): void {
    this.#current = header;
    this.#remaining = header.length;
    this.#frameOffset = 0;
    if (header.opcode >= 8) return;
    if (header.opcode === 0) {
      if (!this.#message) throw new FrameError('a continuation frame without a message to continue', 1002);
    } else {
      if (this.#message) throw new FrameError('a new message began before the previous one ended', 1002);
      this.#message = { opcode: header.opcode, bytes: 0, sample: [], kept: 0 };
    }
  }

  #payload(bytes: Buffer): void {
    const header = this.#current!;
    const control = header.opcode >= 8;
    const target = control ? undefined : this.#message!;
    if (target) target.bytes += bytes.length;
    const room = control ? this.sampleBytes : this.sampleBytes - target!.kept;
    if (room > 0) {
      const part = Buffer.from(bytes.subarray(0, room));
      if (header.mask) unmask(part, header.mask, this.#frameOffset);
      if (control) this.#controlSample.push(part);
      else {
        target!.sample.push(part);
        target!.kept += part.length;
      }
    }
    this.#frameOffset += bytes.length;
  }

  readonly #controlSample: Buffer[] = [];

  #end(): void {
    const header = this.#current!;
    this.#current = undefined;
    if (header.opcode >= 8) {
      this.onMessage({ opcode: header.opcode, bytes: header.length, sample: Buffer.concat(this.#controlSample.splice(0)) });
      return;
    }
    if (!header.fin) return;
    const message = this.#message!;
    this.#message = undefined;
    this.onMessage({ opcode: message.opcode, bytes: message.bytes, sample: Buffer.concat(message.sample) });
  }
}

/**
 * Rewrites messages as they pass (server to client, for a caller masking rules apply to): each
 * data message is held to its last frame (up to `maxMessage` bytes), its text masked, and sent
 * as one frame when it changed (else as the frames it came in). Control frames pass as they are.
 */
export class MessageMasker {
  #pending = Buffer.alloc(0);
  #frames: Buffer[] = [];
  #payload: Buffer[] = [];
  #size = 0;
  #opcode = 0;

  constructor(
    private readonly options: {
      /** The masked text, or undefined when nothing changed. */
      readonly maskText: (text: string) => string | undefined;
      /** Binary messages pass as they are; otherwise they end the connection (1003): the gateway cannot mask them. */
      readonly passBinary: boolean;
      readonly maxMessage: number;
      /** Called with each whole message as sent on (opcode, payload as the client receives it). */
      readonly onMessage: (opcode: number, payload: Buffer) => void;
    },
  ) {}

  write(chunk: Buffer): Buffer[] {
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const out: Buffer[] = [];
    for (;;) {
      const header = readFrameHeader(data);
      if (header && header.opcode < 8 && this.#size + header.length > this.options.maxMessage) {
        throw new FrameError(`a message is larger than ${this.options.maxMessage} bytes, more than the gateway holds to mask it`, 1009);
      }
      if (!header || data.length < header.size + header.length) break;
      const whole = data.subarray(0, header.size + header.length);
      const payload = Buffer.from(whole.subarray(header.size));
      if (header.mask) unmask(payload, header.mask, 0);
      data = data.subarray(whole.length);
      if (header.opcode >= 8) {
        this.options.onMessage(header.opcode, payload);
        out.push(whole);
        continue;
      }
      if (header.opcode !== 0) {
        if (this.#frames.length > 0) throw new FrameError('a new message began before the previous one ended', 1002);
        this.#opcode = header.opcode;
      } else if (this.#frames.length === 0) {
        throw new FrameError('a continuation frame without a message to continue', 1002);
      }
      this.#size += payload.length;
      this.#frames.push(Buffer.from(whole));
      this.#payload.push(payload);
      if (header.fin) out.push(...this.#finish());
    }
    this.#pending = Buffer.from(data);
    return out;
  }

  #finish(): Buffer[] {
    const frames = this.#frames;
    const payload = Buffer.concat(this.#payload);
    const opcode = this.#opcode;
    this.#frames = [];
    this.#payload = [];
    this.#size = 0;
    if (opcode === 2) {
      if (!this.options.passBinary) throw new FrameError('a binary message cannot be masked, and masking rules apply to this caller', 1003);
      this.options.onMessage(opcode, payload);
      return frames;
    }
    const masked = this.options.maskText(payload.toString('utf8'));
    if (masked === undefined) {
      this.options.onMessage(opcode, payload);
      return frames;
    }
    const bytes = Buffer.from(masked, 'utf8');
    this.options.onMessage(opcode, bytes);
    return [frame(1, bytes)];
  }
}
