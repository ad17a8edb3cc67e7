import { randomInt } from 'node:crypto';
import { connect } from 'node:net';
import { serialize } from 'pg-protocol';

/** Where a live session's statements run: what a CancelRequest for it must reach. */
export interface CancelTarget {
  readonly host: string;
  readonly port: number;
  readonly processId: number;
  readonly secretKey: number;
}

/**
 * Clients get the gateway's own BackendKeyData, never the upstream's: a cancel key is a
 * credential for the upstream backend. A CancelRequest is routed only when both the process id
 * and the secret match a live session.
 */
export class CancelRegistry {
  readonly #sessions = new Map<number, { secretKey: number; target: CancelTarget; intercept?: () => boolean }>();

  /**
   * Issues a fresh key for a session; `release` it when the session ends. `intercept` sees a
   * cancel first and returns true when it handled it inside the gateway (a statement held for
   * approval has nothing running upstream to cancel).
   */
  register(target: CancelTarget, intercept?: () => boolean): { processId: number; secretKey: number; release: () => void } {
    let processId: number;
    do processId = randomInt(1, 2 ** 31 - 1);
    while (this.#sessions.has(processId));
    const secretKey = randomInt(-(2 ** 31), 2 ** 31 - 1);
    this.#sessions.set(processId, { secretKey, target, ...(intercept ? { intercept } : {}) });
    return { processId, secretKey, release: () => this.#sessions.delete(processId) };
  }

  /** The upstream target for a key, or undefined for an unknown or wrong key. */
  lookup(processId: number, secretKey: number): CancelTarget | undefined {
    const entry = this.#sessions.get(processId);
    return entry && entry.secretKey === secretKey ? entry.target : undefined;
  }

  /** Routes a CancelRequest: handled in the gateway, sent on to the upstream, or unknown. */
  route(processId: number, secretKey: number): 'handled' | 'unknown' | CancelTarget {
    const entry = this.#sessions.get(processId);
    if (!entry || entry.secretKey !== secretKey) return 'unknown';
    return entry.intercept?.() ? 'handled' : entry.target;
  }

  get size(): number {
    return this.#sessions.size;
  }
}

/** Sends a CancelRequest upstream. Best effort, as in PostgreSQL: no answer comes back either way. */
export function sendCancel(target: CancelTarget): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(5_000, done);
    socket.once('error', done);
    socket.once('close', done);
    socket.once('connect', () => socket.end(serialize.cancel(target.processId, target.secretKey)));
  });
}
