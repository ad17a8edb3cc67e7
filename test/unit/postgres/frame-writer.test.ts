import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { errorResponse, readyForQuery } from '../../../proxy/postgres/backend-writer.js';
import { FrameWriter } from '../../../proxy/postgres/frame-writer.js';
import { CLIENT_LIMITS, MessageReader, type Frame } from '../../../proxy/postgres/message-reader.js';
import { commandComplete, copyData, dataRow } from '../../fixtures/postgres/protocol-messages.js';

/** Records what a FrameWriter does to its socket. */
class FakeSocket {
  destroyed = false;
  /** What write() returns: false once the socket's buffer is "full". */
  accepts = true;
  readonly calls: string[] = [];
  readonly written: Buffer[] = [];

  write(bytes: Buffer): boolean {
    this.calls.push('write');
    this.written.push(bytes);
    return this.accepts;
  }

  cork(): void {
    this.calls.push('cork');
  }

  uncork(): void {
    this.calls.push('uncork');
  }
}

function writerOn(fake: FakeSocket): FrameWriter {
  // FrameWriter uses only write/cork/uncork/destroyed of its socket.
  return new FrameWriter(fake as unknown as Socket);
}

function framesOf(chunk: Buffer): Frame[] {
  const reader = new MessageReader(CLIENT_LIMITS);
  reader.push(chunk);
  const frames: Frame[] = [];
  let frame: Frame | undefined;
  while ((frame = reader.next())) frames.push(frame);
  return frames;
}

const rows = [dataRow(['1']), dataRow(['2']), dataRow(['3']), commandComplete('SELECT 3'), readyForQuery('I')];

describe('FrameWriter coalescing', () => {
  it('sends frames forwarded from one received chunk as a single write of the original chunk', () => {
    const chunk = Buffer.concat(rows);
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    for (const frame of framesOf(chunk)) writer.forward(frame);
    expect(fake.calls).toEqual([]);
    expect(writer.flush()).toBe(true);
    expect(fake.calls).toEqual(['write']);
    expect(fake.written[0]).toBe(chunk);
  });

  it('sends a run of adjacent frames as one slice, without copying', () => {
    const chunk = Buffer.concat(rows);
    const frames = framesOf(chunk);
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    for (const frame of frames.slice(1, 4)) writer.forward(frame);
    writer.flush();
    expect(fake.written).toHaveLength(1);
    expect(fake.written[0]).toEqual(Buffer.concat(rows.slice(1, 4)));
    expect(fake.written[0]!.buffer).toBe(chunk.buffer);
  });

  it('splits runs where a frame was held back, and corks the socket around the pieces', () => {
    const chunk = Buffer.concat(rows);
    const frames = framesOf(chunk);
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    for (const frame of [frames[0]!, frames[2]!, frames[3]!]) writer.forward(frame);
    writer.flush();
    expect(fake.calls).toEqual(['cork', 'write', 'write', 'uncork']);
    expect(fake.written).toEqual([rows[0], Buffer.concat([rows[2]!, rows[3]!])]);
  });

  it('does not join frames from different chunks even when their offsets line up', () => {
    const first = Buffer.concat(rows.slice(0, 2));
    const second = Buffer.concat(rows.slice(2));
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    for (const frame of [...framesOf(first), ...framesOf(second)]) writer.forward(frame);
    writer.flush();
    expect(fake.written).toEqual([first, second]);
  });

  it('keeps the gateway’s own messages in order with forwarded frames', () => {
    const chunk = Buffer.concat(rows);
    const frames = framesOf(chunk);
    const notice = errorResponse({ code: '42501', message: 'masked' });
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    writer.forward(frames[0]!);
    writer.forward(frames[1]!);
    writer.write(notice);
    // Adjacent to frames[1] in the chunk, but after the gateway's message: a new run.
    writer.forward(frames[2]!);
    writer.flush();
    expect(Buffer.concat(fake.written)).toEqual(Buffer.concat([rows[0]!, rows[1]!, notice, rows[2]!]));
    expect(fake.written).toHaveLength(3);
  });

  it('joins the gateway’s consecutive messages (masked rows) into one write', () => {
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    writer.write(rows[0]!);
    writer.write(rows[1]!);
    writer.write(rows[2]!);
    writer.flush();
    expect(fake.calls).toEqual(['write']);
    expect(fake.written).toEqual([Buffer.concat(rows.slice(0, 3))]);
  });

  it('starts afresh after a flush', () => {
    const chunk = Buffer.concat(rows);
    const frames = framesOf(chunk);
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    writer.forward(frames[0]!);
    writer.flush();
    writer.forward(frames[1]!);
    writer.flush();
    expect(writer.flush()).toBe(true);
    expect(fake.written).toEqual([rows[0], rows[1]]);
  });
});

describe('FrameWriter flow control', () => {
  it('reports a full socket, even when only an earlier piece filled it', () => {
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    let calls = 0;
    fake.write = (bytes: Buffer) => {
      fake.written.push(bytes);
      return ++calls !== 1;
    };
    writer.write(rows[0]!);
    writer.forward(framesOf(rows[1]!)[0]!);
    expect(writer.flush()).toBe(false);
    expect(fake.written).toEqual([rows[0], rows[1]]);
  });

  it('reports a full socket for a single piece', () => {
    const fake = new FakeSocket();
    fake.accepts = false;
    const writer = writerOn(fake);
    writer.write(rows[0]!);
    expect(writer.flush()).toBe(false);
  });

  it('writes nothing when nothing is queued', () => {
    const fake = new FakeSocket();
    expect(writerOn(fake).flush()).toBe(true);
    expect(fake.calls).toEqual([]);
  });

  it('drops what is queued on discard', () => {
    const fake = new FakeSocket();
    const writer = writerOn(fake);
    for (const frame of framesOf(Buffer.concat(rows))) writer.forward(frame);
    writer.write(rows[0]!);
    writer.discard();
    expect(writer.flush()).toBe(true);
    expect(fake.calls).toEqual([]);
  });

  it('writes nothing to a destroyed socket', () => {
    const fake = new FakeSocket();
    fake.destroyed = true;
    const writer = writerOn(fake);
    writer.write(rows[0]!);
    expect(writer.flush()).toBe(true);
    expect(fake.calls).toEqual([]);
  });
});

describe('FrameWriter on a real socket', () => {
  let server: Server | undefined;
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    if (server) await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  });

  /** A loopback connection: the writer's side and the peer's side. */
  async function socketPair(): Promise<{ local: Socket; peer: Socket }> {
    server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const local = connect({ host: '127.0.0.1', port });
    await once(local, 'connect');
    const [peer] = await accepted;
    sockets.push(local, peer);
    return { local, peer };
  }

  function collect(socket: Socket, bytes: number): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let received = 0;
    return new Promise((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        received += chunk.length;
        if (received >= bytes) resolve(Buffer.concat(chunks));
      });
    });
  }

  it('delivers forwarded frames and the gateway’s messages in order, byte for byte', async () => {
    const { local, peer } = await socketPair();
    const chunks = [Buffer.concat([serialize.query('SELECT 1'), serialize.parse({ text: 'SELECT $1' }), serialize.bind({ values: ['x'] })]), Buffer.concat([serialize.execute({}), serialize.sync()])];
    const notice = errorResponse({ code: '01000', message: 'from the gateway' });
    const expected = Buffer.concat([chunks[0]!, notice, chunks[1]!]);
    const received = collect(peer, expected.length);
    const writer = new FrameWriter(local);
    const reader = new MessageReader(CLIENT_LIMITS);
    for (const [index, chunk] of chunks.entries()) {
      reader.push(chunk);
      let frame: Frame | undefined;
      while ((frame = reader.next())) writer.forward(frame);
      if (index === 0) writer.write(notice);
      writer.flush();
    }
    expect((await received).equals(expected)).toBe(true);
  });

  it('reports false while the peer does not read, and delivers everything once it does', async () => {
    const { local, peer } = await socketPair();
    peer.pause();
    const writer = new FrameWriter(local);
    const message = copyData(Buffer.alloc(1024 * 1024, 0x5a));
    let full = false;
    let sent = 0;
    for (let i = 0; i < 256 && !full; i++) {
      for (const frame of framesOf(message)) writer.forward(frame);
      full = !writer.flush();
      sent += message.length;
    }
    expect(full).toBe(true);
    const drained = once(local, 'drain');
    const received = collect(peer, sent);
    peer.resume();
    await drained;
    expect((await received).length).toBe(sent);
  });
});
