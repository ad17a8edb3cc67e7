import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

// The connection to a remote gateway, handed to node:https and ws as `createConnection`. TLS is
// verified: against the system's CAs, or, when a fingerprint is pinned (a self-signed gateway, as
// `sluice serve` with tls: auto and `npm run demo` print it), against that certificate exactly.
// The socket is handed over only after the check, so not one byte (the token) reaches an impostor.

export interface ConnectTarget {
  readonly protocol: 'https:' | 'http:';
  readonly host: string;
  readonly port: number;
  /** Upper-case hex pairs with colons. */
  readonly fingerprint?: string;
}

export type CreateConnection = (options: unknown, done: (error: Error | null, socket?: Socket) => void) => undefined;

export class CertificateMismatchError extends Error {
  constructor(host: string, expected: string, actual: string) {
    super(`the certificate of ${host} is not the pinned one (pinned ${expected}, presented ${actual || 'none'}); if the gateway's certificate changed on purpose, remove the gateway and add it again with the new fingerprint`);
    this.name = 'CertificateMismatchError';
  }
}

export function connectionFor(target: ConnectTarget): CreateConnection {
  return (_options, callback) => {
    // The sockets below may report an error after the handover too: answer once.
    let answered = false;
    const done = (error: Error | null, socket?: Socket) => {
      if (answered) return;
      answered = true;
      callback(error, socket);
    };
    const host = target.host.replace(/^\[|\]$/g, '');
    if (target.protocol === 'http:') {
      const socket = netConnect({ host, port: target.port });
      socket.once('connect', () => done(null, socket));
      socket.once('error', (error) => done(error));
      return undefined;
    }
    const pinned = target.fingerprint;
    const socket: TLSSocket = tlsConnect({
      host,
      port: target.port,
      ...(/^[\d.]+$|:/.test(host) ? {} : { servername: host }),
      // With a pin, the pin is the trust anchor (the check below); without, the system's CAs.
      rejectUnauthorized: pinned === undefined,
      minVersion: 'TLSv1.2',
      ALPNProtocols: ['http/1.1'],
    });
    socket.once('secureConnect', () => {
      if (pinned !== undefined) {
        const actual = socket.getPeerCertificate().fingerprint256 ?? '';
        if (actual.toUpperCase() !== pinned) {
          socket.destroy();
          return done(new CertificateMismatchError(`${target.host}:${target.port}`, pinned, actual));
        }
      }
      done(null, socket);
    });
    socket.once('error', (error) => done(tlsProblem(error, target)));
    return undefined;
  };
}

/** Self-signed and unknown-CA failures say what to do about them. */
function tlsProblem(error: Error, target: ConnectTarget): Error {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    return new Error(`the certificate of ${target.host}:${target.port} is not signed by a CA this computer trusts (${code}); if the gateway uses a self-signed certificate, add it with its SHA-256 fingerprint (sluice serve prints it)`, { cause: error });
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return new Error(`the certificate of ${target.host}:${target.port} is for another host name (${code})`, { cause: error });
  return error;
}
