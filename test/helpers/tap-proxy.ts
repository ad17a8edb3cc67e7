import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

export interface TapConnection {
  /** Bytes the client sent, in order. */
  readonly fromClient: Buffer[];
  /** Bytes the server sent, in order. */
  readonly fromServer: Buffer[];
}

export interface TapProxy {
  readonly port: number;
  readonly connections: readonly TapConnection[];
  /** Cuts every open connection at once, as a crashed server or a broken network would. */
  killAll(): void;
  close(): Promise<void>;
}

/** A TCP proxy that records both directions of each connection: a wire tap for tests. */
export async function startTapProxy(target: { host: string; port: number }): Promise<TapProxy> {
  const connections: TapConnection[] = [];
  const open = new Set<Socket>();
  const server = createServer((client) => {
    const record: TapConnection = { fromClient: [], fromServer: [] };
    connections.push(record);
    const upstream = connect(target);
    for (const socket of [client, upstream]) {
      open.add(socket);
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => {});
    }
    client.on('data', (chunk: Buffer) => {
      record.fromClient.push(Buffer.from(chunk));
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      record.fromServer.push(Buffer.from(chunk));
      client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections,
    killAll: () => open.forEach((socket) => socket.destroy()),
    close: () =>
      new Promise((resolve) => {
        open.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/** Splits a backend (server-to-client) byte stream into its messages. */
export function splitBackendMessages(chunks: readonly Buffer[]): Buffer[] {
  const bytes = Buffer.concat(chunks);
  const messages: Buffer[] = [];
  let at = 0;
  while (at + 5 <= bytes.length) {
    const end = at + 1 + bytes.readInt32BE(at + 1);
    if (end > bytes.length) break;
    messages.push(bytes.subarray(at, end));
    at = end;
  }
  return messages;
}
