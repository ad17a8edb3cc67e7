import { WebSocket } from 'ws';
import type { EngineEventMap, EngineEventName, EngineEvents } from '../engine/engine-events.js';
import type { Logger } from '../engine/logger.js';
import type { Identity } from '../identity/identity.js';
import { API_EVENTS, type ApiEventMessage } from './api-contract.js';
import { rolesOf, type RolesConfig } from './api-roles.js';

// Fans engine events out to WebSocket subscribers, each getting only the events their roles
// allow. The hub listens on the engine's bus only while someone may receive an event, so the
// data path (which asks `events.has`) builds no payloads for nobody.

export interface EventHubOptions {
  readonly events: EngineEvents;
  readonly roles: RolesConfig;
  readonly log: Logger;
  /** Unsent bytes a subscriber may fall behind by before it is disconnected (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** Ping interval; a subscriber that missed the previous pong is dropped (default 30 s). */
  readonly heartbeatMs?: number;
}

/** Close codes in the application range (4000-4999), mirroring the HTTP statuses they stand for. */
export const CLOSE_CREDENTIAL_EXPIRED = 4401;
export const CLOSE_GOING_AWAY = 1001;

interface Subscriber {
  readonly socket: WebSocket;
  readonly identity: Identity;
  readonly events: readonly EngineEventName[];
  alive: boolean;
  expiry: NodeJS.Timeout | undefined;
}

export class EventHub {
  readonly #options: EventHubOptions;
  readonly #maxBuffered: number;
  readonly #subscribers = new Set<Subscriber>();
  readonly #byEvent = new Map<EngineEventName, Set<Subscriber>>();
  readonly #unsubscribe = new Map<EngineEventName, () => void>();
  readonly #heartbeat: NodeJS.Timeout;

  constructor(options: EventHubOptions) {
    this.#options = options;
    this.#maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.#heartbeat = setInterval(() => this.#ping(), options.heartbeatMs ?? 30_000);
    this.#heartbeat.unref();
  }

  get size(): number {
    return this.#subscribers.size;
  }

  /** The events this identity would receive; none means a subscription is pointless. */
  eventsFor(identity: Identity): EngineEventName[] {
    const roles = rolesOf(identity, this.#options.roles);
    return (Object.keys(API_EVENTS) as EngineEventName[]).filter((name) => roles.has(API_EVENTS[name]));
  }

  add(socket: WebSocket, identity: Identity): void {
    const subscriber: Subscriber = { socket, identity, events: this.eventsFor(identity), alive: true, expiry: undefined };
    this.#subscribers.add(subscriber);
    for (const name of subscriber.events) this.#listen(name).add(subscriber);
    socket.on('pong', () => (subscriber.alive = true));
    socket.on('error', () => socket.terminate()); // protocol violations; 'close' follows
    socket.on('close', () => this.#remove(subscriber));
    // Subscribers only listen; whatever they send is ignored (the server caps its size).
    if (identity.expiresAt !== undefined) {
      const remaining = identity.expiresAt - Date.now();
      subscriber.expiry = setTimeout(() => socket.close(CLOSE_CREDENTIAL_EXPIRED, 'credential expired: get a new ticket with a fresh credential'), Math.max(0, Math.min(remaining, 2 ** 31 - 1)));
      subscriber.expiry.unref();
    }
    this.#options.log.info('api events subscribed', { subject: identity.subject, events: subscriber.events.join(',') });
  }

  /** Closes every subscriber (gateway shutdown); those that do not answer within `graceMs` are cut. */
  async closeAll(graceMs = 1_000): Promise<void> {
    clearInterval(this.#heartbeat);
    const sockets = [...this.#subscribers].map((subscriber) => subscriber.socket);
    const closed = sockets.map((socket) =>
      socket.readyState === WebSocket.CLOSED ? Promise.resolve() : new Promise<void>((resolve) => socket.once('close', () => resolve())),
    );
    for (const socket of sockets) socket.close(CLOSE_GOING_AWAY, 'the gateway is shutting down');
    const grace = setTimeout(() => sockets.forEach((socket) => socket.terminate()), graceMs);
    await Promise.all(closed);
    clearTimeout(grace);
  }

  #listen(name: EngineEventName): Set<Subscriber> {
    let set = this.#byEvent.get(name);
    if (!set) this.#byEvent.set(name, (set = new Set()));
    if (!this.#unsubscribe.has(name)) {
      this.#unsubscribe.set(name, this.#options.events.on(name, (payload) => this.#broadcast(name, payload)));
    }
    return set;
  }

  #remove(subscriber: Subscriber): void {
    if (!this.#subscribers.delete(subscriber)) return;
    if (subscriber.expiry) clearTimeout(subscriber.expiry);
    for (const name of subscriber.events) {
      const set = this.#byEvent.get(name);
      set?.delete(subscriber);
      if (set?.size === 0) {
        this.#unsubscribe.get(name)?.();
        this.#unsubscribe.delete(name);
      }
    }
    this.#options.log.info('api events unsubscribed', { subject: subscriber.identity.subject });
  }

  #broadcast<N extends EngineEventName>(name: N, payload: EngineEventMap[N]): void {
    const set = this.#byEvent.get(name);
    if (!set || set.size === 0) return;
    let frame: string;
    try {
      // Serialized once for every subscriber.
      frame = JSON.stringify({ event: name, payload } as ApiEventMessage);
    } catch (error) {
      this.#options.log.error('api event not serializable; dropped', { event: name, reason: (error as Error).message });
      return;
    }
    for (const subscriber of set) {
      const { socket } = subscriber;
      if (socket.readyState !== WebSocket.OPEN) continue;
      if (socket.bufferedAmount + frame.length > this.#maxBuffered) {
        // Buffering more for a reader that does not keep up would grow memory without bound.
        this.#options.log.warn('api events subscriber too slow; disconnected', { subject: subscriber.identity.subject, buffered: socket.bufferedAmount });
        socket.terminate();
        continue;
      }
      socket.send(frame);
    }
  }

  #ping(): void {
    for (const subscriber of this.#subscribers) {
      if (!subscriber.alive) {
        subscriber.socket.terminate();
        continue;
      }
      subscriber.alive = false;
      subscriber.socket.ping();
    }
  }
}
