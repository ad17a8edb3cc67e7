import { connect, type Socket } from 'node:net';
import { serialize } from 'pg-protocol';

/**
 * A bare protocol client: logs in through the gateway with a token (cleartext password, no TLS)
 * and hands back the socket, paused, right after the first ReadyForQuery. For tests that need to
 * send bytes no driver would, or read at their own pace.
 */
export async function rawLogin(target: { host: string; port: number; database: string; token: string }): Promise<Socket> {
  const socket = connect({ host: target.host, port: target.port });
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    let sentPassword = false;
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      for (;;) {
        if (received.length < 5) return;
        const end = 1 + received.readInt32BE(1);
        if (received.length < end) return;
        const code = String.fromCharCode(received[0]!);
        received = received.subarray(end);
        if (code === 'R' && !sentPassword) {
          sentPassword = true;
          socket.write(serialize.password(target.token));
        } else if (code === 'E') {
          socket.destroy();
          reject(new Error('login refused'));
          return;
        } else if (code === 'Z') {
          socket.off('data', onData);
          socket.pause();
          if (received.length > 0) socket.unshift(received);
          resolve(socket);
          return;
        }
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(serialize.startup({ user: 'raw', database: target.database }));
  });
}

/** Everything the peer sends until it closes the connection. */
export function readUntilClose(socket: Socket): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.once('close', () => resolve(Buffer.concat(chunks)));
    socket.resume();
  });
}

/**
 * Resolves with the bytes received once the stream ends with a ReadyForQuery (the end of a
 * query's answer); `onChunk` sees every chunk first (to count it, or to read slowly).
 */
export function untilReadyForQuery(socket: Socket, onChunk: (chunk: Buffer) => void = () => {}): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let tail = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      onChunk(chunk);
      tail = Buffer.concat([tail, chunk.subarray(-6)]).subarray(-6);
      // ReadyForQuery: 'Z', length 5, status.
      if (tail.length === 6 && tail[0] === 0x5a && tail.readInt32BE(1) === 5) resolve(bytes);
    });
    socket.once('error', reject);
  });
}
