import { describe, expect, it } from 'vitest';
import { closeFrame, frame, FrameObserver, MessageMasker, readFrameHeader, type FrameError, type ObservedMessage } from '../../../proxy/http/websocket-frames.js';

/** A client frame: masked, as browsers send. */
function masked(opcode: number, payload: Buffer, fin = true): Buffer {
  const plain = frame(opcode, payload, fin);
  const size = plain.length - payload.length;
  const key = Buffer.from([1, 2, 3, 4]);
  const header = Buffer.from(plain.subarray(0, size));
  header[1]! |= 0x80;
  const body = Buffer.from(payload.map((byte, i) => byte ^ key[i & 3]!));
  return Buffer.concat([header, key, body]);
}

const STREAM = Buffer.concat([
  masked(1, Buffer.from('hello ada@example.com')),
  masked(9, Buffer.from('ping')),
  masked(2, Buffer.alloc(70_000, 7), false),
  masked(0, Buffer.alloc(10, 8)),
  masked(1, Buffer.from('frag'), false),
  masked(10, Buffer.from('pong')),
  masked(0, Buffer.from('mented')),
  masked(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from('bye')])),
]);

describe('WebSocket frames', () => {
  it('reads headers of every length form', () => {
    expect(readFrameHeader(frame(1, Buffer.alloc(5)))).toMatchObject({ fin: true, opcode: 1, length: 5, size: 2 });
    expect(readFrameHeader(frame(2, Buffer.alloc(300)))).toMatchObject({ length: 300, size: 4 });
    expect(readFrameHeader(frame(2, Buffer.alloc(70_000)))).toMatchObject({ length: 70_000, size: 10 });
    expect(readFrameHeader(Buffer.from([0x81]))).toBeUndefined();
    expect(() => readFrameHeader(Buffer.from([0xc1, 0x00]))).toThrow(/reserved bits/);
    expect(() => readFrameHeader(Buffer.from([0x83, 0x00]))).toThrow(/unknown frame opcode 3/);
    expect(() => readFrameHeader(Buffer.from([0x09, 0x00]))).toThrow(/control frame is fragmented/);
    expect(closeFrame(1009, 'x'.repeat(200)).length).toBe(2 + 125);
  });

  it('observes the same messages whatever the chunking', () => {
    const observe = (size: number) => {
      const seen: ObservedMessage[] = [];
      const observer = new FrameObserver(8, (message) => seen.push(message));
      for (let at = 0; at < STREAM.length; at += size) observer.write(STREAM.subarray(at, at + size));
      return seen.map((message) => `${message.opcode}:${message.bytes}:${message.sample.toString('latin1')}`);
    };
    const whole = observe(STREAM.length);
    // A control frame between a message's frames is reported when it arrives.
    expect(whole).toEqual(['1:21:hello ad', '9:4:ping', '2:70010:\x07\x07\x07\x07\x07\x07\x07\x07', '10:4:pong', '1:10:fragment', '8:5:\x03\xe8bye']);
    for (const size of [1, 2, 3, 7, 13, 100, 4096]) expect(observe(size), `chunks of ${size}`).toEqual(whole);
  });

  it('rewrites text messages as one frame when masking changes them, and passes the rest as they came', () => {
    const input = Buffer.concat([frame(1, Buffer.from('to ada@example.com')), frame(9, Buffer.from('p')), frame(1, Buffer.from('plain')), frame(1, Buffer.from('x '), false), frame(0, Buffer.from('ada@example.com'))]);
    const run = (size: number) => {
      const masker = new MessageMasker({ maskText: (text) => (text.includes('ada@') ? text.replace('ada@', '****@') : undefined), passBinary: false, maxMessage: 1024, onMessage: () => {} });
      const out: Buffer[] = [];
      for (let at = 0; at < input.length; at += size) out.push(...masker.write(input.subarray(at, at + size)));
      return Buffer.concat(out);
    };
    const expected = Buffer.concat([frame(1, Buffer.from('to ****@example.com')), frame(9, Buffer.from('p')), frame(1, Buffer.from('plain')), frame(1, Buffer.from('x ****@example.com'))]);
    for (const size of [1, 5, input.length]) expect(run(size)).toEqual(expected);
  });

  it('refuses binary for a masked caller, and messages past the limit', () => {
    const masker = new MessageMasker({ maskText: () => undefined, passBinary: false, maxMessage: 100, onMessage: () => {} });
    expect(() => masker.write(frame(2, Buffer.from([1])))).toThrow(expect.objectContaining({ closeCode: 1003 }) as FrameError);
    const small = new MessageMasker({ maskText: () => undefined, passBinary: true, maxMessage: 100, onMessage: () => {} });
    expect(() => small.write(frame(1, Buffer.alloc(200, 0x61)).subarray(0, 10))).toThrow(/larger than 100 bytes/);
  });
});
