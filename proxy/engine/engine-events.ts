import type { EventRecord, SessionRecord } from '../audit/audit-types.js';
import type { Approval } from '../approvals/approval-types.js';

/** The engine API's events: what a subscriber (web console, desktop app) is told as it happens. */
export interface EngineEventMap {
  'approval.requested': Approval;
  'approval.decided': Approval;
  'session.started': SessionRecord;
  'session.ended': SessionRecord;
  'event.appended': EventRecord;
}

export type EngineEventName = keyof EngineEventMap;

type Listener<N extends EngineEventName> = (payload: EngineEventMap[N]) => void;

/** A small typed bus. A throwing listener is isolated: it never breaks the emitter or other listeners. */
export class EngineEvents {
  readonly #listeners = new Map<EngineEventName, Set<Listener<never>>>();

  on<N extends EngineEventName>(name: N, listener: Listener<N>): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<N extends EngineEventName>(name: N, payload: EngineEventMap[N]): void {
    const set = this.#listeners.get(name);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as Listener<N>)(payload);
      } catch {
        // A subscriber's bug must not reach the data path.
      }
    }
  }

  /** Whether anyone listens (the hot path skips building payloads nobody reads). */
  has(name: EngineEventName): boolean {
    return (this.#listeners.get(name)?.size ?? 0) > 0;
  }
}
