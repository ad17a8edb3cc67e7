import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { SSL_ACCEPT, SSL_REFUSE } from './backend-writer.js';
import { FrameQueue } from './frame-queue.js';
import { decodeStartup } from './frontend-decode.js';
import type { ReaderLimits } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';

export interface NegotiatedStartup {
  /** The client's socket: the TLS socket when TLS was negotiated. */
  readonly socket: Socket;
  readonly tls: boolean;
  /** The protocol minor version the client asked for (3.minor). */
  readonly minor: number;
  readonly parameters: ReadonlyMap<string, string>;
  /** Frames the rest of the session; already switched to typed messages. */
  readonly queue: FrameQueue;
}

export interface StartupOptions {
  /** Server TLS; undefined answers SSLRequest with 'N'. */
  readonly tls: SecureContext | undefined;
  readonly limits: ReaderLimits;
  readonly onCancel: (processId: number, secretKey: number) => void;
  /** Told the socket to answer on from now on (the TLS socket once TLS is up), so a refusal never goes out in plaintext under TLS. */
  readonly onSocket: (socket: Socket) => void;
}

/**
 * The untyped opening of a connection: SSLRequest / GSSENCRequest negotiation, a CancelRequest,
 * or the StartupMessage. Returns undefined for a CancelRequest (the connection is done).
 */
export async function negotiateStartup(raw: Socket, options: StartupOptions): Promise<NegotiatedStartup | undefined> {
  let socket = raw;
  let tls = false;
  let queue = new FrameQueue(socket, options.limits, { startup: true });
  for (;;) {
    const packet = decodeStartup(await queue.next());
    switch (packet.kind) {
      case 'cancel':
        queue.detach();
        options.onCancel(packet.processId, packet.secretKey);
        return undefined;
      case 'gssenc':
        refuseBufferedBytes(queue, 'GSSENCRequest');
        socket.write(SSL_REFUSE);
        break;
      case 'ssl':
        refuseBufferedBytes(queue, 'SSLRequest');
        if (tls) throw new ProtocolError('SSLRequest received on a connection that already uses TLS');
        if (!options.tls) {
          socket.write(SSL_REFUSE);
          break;
        }
        queue.detach();
        socket.write(SSL_ACCEPT);
        socket = await upgrade(socket, options.tls);
        options.onSocket(socket);
        tls = true;
        queue = new FrameQueue(socket, options.limits, { startup: true });
        break;
      case 'startup':
        queue.reader.expectStartup(false);
        return { socket, tls, minor: packet.minor, parameters: packet.parameters, queue };
    }
  }
}

// Bytes after an SSLRequest arrived before our answer, so they were sent in plaintext yet would be
// read as if they came through TLS (CVE-2021-23214 in PostgreSQL): refuse them.
function refuseBufferedBytes(queue: FrameQueue, request: string): void {
  if (queue.reader.buffered > 0) throw new ProtocolError(`unexpected data after ${request}; the client must wait for the answer`);
}

function upgrade(socket: Socket, secureContext: SecureContext): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = new TLSSocket(socket, { isServer: true, secureContext });
    const fail = (error: Error) => reject(new ProtocolError(`TLS handshake failed: ${error.message}`));
    secure.once('secure', () => {
      secure.off('error', fail);
      resolve(secure);
    });
    secure.once('error', fail);
    secure.once('close', () => fail(new Error('the client closed the connection')));
  });
}
