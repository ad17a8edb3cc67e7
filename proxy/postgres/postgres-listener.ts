import { createServer, type Socket } from 'node:net';
import { isLoopbackHost } from '../common/urls.js';
import { serveClient, type SessionContext } from './client-session.js';
import type { SessionRelay } from './session-relay.js';
import { listen } from '../net/listen.js';

export interface PostgresListenerOptions extends Omit<SessionContext, 'live' | 'requireTls'> {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly allowCleartextWithoutTls: boolean;
}

export interface PostgresListener {
  readonly host: string;
  readonly port: number;
  /** Sessions relaying right now. */
  readonly sessions: number;
  /** Ends every live session with a FATAL error, and goes on listening. */
  endSessions(message: string, sqlstate: string): void;
  /** Stops accepting, ends every session with FATAL 57P01 (admin shutdown), and waits for the sockets. */
  close(): Promise<void>;
}

export async function startPostgresListener(options: PostgresListenerOptions): Promise<PostgresListener> {
  const live = new Set<SessionRelay>();
  const loggingIn = new Set<Socket>();
  const all = new Set<Socket>();
  const ctx: SessionContext = {
    ...options,
    live,
    // Tokens are bearer credentials: over plaintext they are readable by anyone on the path.
    requireTls: !isLoopbackHost(options.host) && !options.allowCleartextWithoutTls,
  };
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    loggingIn.add(socket);
    all.add(socket);
    socket.once('close', () => all.delete(socket));
    void serveClient(socket, ctx)
      .catch((error: unknown) => {
        // serveClient handles its own failures; reaching here is a bug, and still not a crash.
        options.log.error('session failed unexpectedly', { reason: (error as Error).message });
        socket.destroy();
      })
      .finally(() => loggingIn.delete(socket));
  });
  server.on('error', (error) => options.log.error('postgres listener error', { reason: error.message }));
  const address = await listen(server, options.port, options.host);
  return {
    host: options.host,
    port: address.port,
    get sessions() {
      return live.size;
    },
    endSessions(message, sqlstate) {
      for (const relay of [...live]) relay.shutdown(message, sqlstate);
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const relay of [...live]) relay.shutdown('the Sluice gateway is shutting down');
      // A connection still logging in may be mid-TLS-handshake: there is no safe way to answer it.
      for (const socket of loggingIn) socket.destroy();
      // A client that never closes its side after the FATAL must not hold the shutdown up.
      const force = setTimeout(() => all.forEach((socket) => socket.destroy()), 2_000);
      await closed;
      clearTimeout(force);
    },
  };
}
