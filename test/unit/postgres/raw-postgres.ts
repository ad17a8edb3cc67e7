import { connect, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';
import { inject } from 'vitest';
import { MessageReader, UPSTREAM_LIMITS, type Frame } from '../../../proxy/postgres/message-reader.js';
import { startScram } from '../../../proxy/postgres/scram-client.js';

/** A protocol-level session with the suite's PostgreSQL, logged in with the gateway's SCRAM client. */
export interface RawPostgres {
  /** Sends bytes and collects the server's messages (copies) up to the `readyCount`-th ReadyForQuery. */
  exchange(bytes: Buffer, readyCount?: number): Promise<Buffer[]>;
  close(): void;
}

/** Frames the server's byte stream; `next()` resolves with the next complete message. */
class ServerMessages {
  readonly #reader = new MessageReader(UPSTREAM_LIMITS);
  readonly #queue: Buffer[] = [];
  #waiter: ((message: Buffer) => void) | undefined;
  #failure: ((error: Error) => void) | undefined;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk);
      let frame: Frame | undefined;
      while ((frame = this.#reader.next())) this.#queue.push(Buffer.from(frame.buffer.subarray(frame.start, frame.end)));
      this.#deliver();
    });
    socket.on('error', (error) => this.#failure?.(error));
    socket.on('close', () => this.#failure?.(new Error('the server closed the connection')));
  }

  next(): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.#waiter = resolve;
      this.#failure = reject;
      this.#deliver();
    });
  }

  #deliver(): void {
    const waiter = this.#waiter;
    const message = this.#queue[0];
    if (!waiter || !message) return;
    this.#queue.shift();
    this.#waiter = this.#failure = undefined;
    waiter(message);
  }
}

/** The `code` of an AuthenticationRequest, and its data after the code. */
function authentication(message: Buffer): { kind: number; data: string } {
  return { kind: message.readInt32BE(5), data: message.toString('utf8', 9) };
}

export async function rawPostgres(options: { readonly user?: string; readonly password?: string } = {}): Promise<RawPostgres> {
  const server = inject('postgres');
  const socket = connect({ host: server.host, port: server.port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const messages = new ServerMessages(socket);
  socket.write(serialize.startup({ user: options.user ?? server.user, database: 'postgres' }));
  const scram = startScram(options.password ?? server.password);
  for (;;) {
    const message = await messages.next();
    const code = String.fromCharCode(message[0]!);
    if (code === 'E') {
      socket.destroy();
      throw new Error(`login refused: ${message.subarray(5).toString('utf8').replaceAll('\0', ' ')}`);
    }
    if (code === 'Z') break;
    if (code !== 'R') continue;
    const { kind, data } = authentication(message);
    if (kind === 10) socket.write(serialize.sendSASLInitialResponseMessage('SCRAM-SHA-256', scram.clientFirst));
    else if (kind === 11) socket.write(serialize.sendSCRAMClientFinalMessage(await scram.respond(data)));
    else if (kind === 12) scram.verifyServerFinal(data);
    else if (kind !== 0) throw new Error(`unexpected authentication request ${kind}`);
  }
  return {
    async exchange(bytes, readyCount = 1) {
      socket.write(bytes);
      const received: Buffer[] = [];
      for (let ready = 0; ready < readyCount; ) {
        const message = await messages.next();
        received.push(message);
        if (message[0] === 0x5a) ready++;
      }
      return received;
    },
    close() {
      socket.end(serialize.end());
    },
  };
}
