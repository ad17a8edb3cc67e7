import type { ApiEventMessage, ApiMethodName, ApiResult } from '../../proxy/api/api-contract.js';
import { failed } from '../../proxy/api/api-result.js';
import type { LocalEngineInfo } from '../ipc/desktop-contract.js';
import type { HostPort, HostReply, HostRequest } from './host-protocol.js';

// The main process's end of the engine host: calls with ids matched to their answers, events,
// and the engine's state. When the host process dies, `lost` answers every call in flight, so
// no IPC call from the window waits forever.

export class EngineLink {
  readonly #port: HostPort<HostReply, HostRequest>;
  readonly #pending = new Map<number, (result: ApiResult<unknown>) => void>();
  readonly #events = new Set<(message: ApiEventMessage) => void>();
  readonly #states = new Set<(info: LocalEngineInfo) => void>();
  #nextId = 1;
  #info: LocalEngineInfo;
  #stopped: (() => void) | undefined;

  constructor(port: HostPort<HostReply, HostRequest>, configFile: string) {
    this.#port = port;
    this.#info = { state: 'starting', configFile };
    port.onMessage((reply) => this.#receive(reply));
  }

  get info(): LocalEngineInfo {
    return this.#info;
  }

  start(operator: string): void {
    this.#port.post({ type: 'start', configFile: this.#info.configFile, operator });
  }

  call(method: ApiMethodName, input: unknown): Promise<ApiResult<unknown>> {
    if (this.#info.state !== 'running') {
      const why = this.#info.state === 'starting' ? 'it is still starting; try again in a moment' : (this.#info.message ?? 'it has stopped');
      return Promise.resolve(failed('unavailable', `the local gateway is not running: ${why}`));
    }
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.#port.post({ type: 'call', id, method, input });
    });
  }

  /** Session and audit-event pushes (approval events always come). */
  wantEvents(on: boolean): void {
    this.#port.post({ type: 'events', on });
  }

  onEvent(listener: (message: ApiEventMessage) => void): () => void {
    this.#events.add(listener);
    return () => void this.#events.delete(listener);
  }

  onState(listener: (info: LocalEngineInfo) => void): () => void {
    this.#states.add(listener);
    return () => void this.#states.delete(listener);
  }

  /** Asks the host to stop the engine (held statements are cancelled, the store flushed); resolves once it has. */
  stop(): Promise<void> {
    if (this.#info.state === 'stopped' || this.#info.state === 'failed') return Promise.resolve();
    return new Promise((resolve) => {
      this.#stopped = resolve;
      this.#port.post({ type: 'stop' });
    });
  }

  /** The host process is gone (crashed, killed): fail what is in flight and say why. */
  lost(message: string): void {
    if (this.#info.state !== 'stopped') this.#setInfo({ state: 'failed', configFile: this.#info.configFile, message });
    for (const resolve of this.#pending.values()) resolve(failed('unavailable', `the local gateway stopped: ${message}`));
    this.#pending.clear();
    this.#stopped?.();
  }

  #receive(reply: HostReply): void {
    switch (reply.type) {
      case 'started':
        return this.#setInfo(reply.engine);
      case 'failed':
        return this.#setInfo({ state: 'failed', configFile: this.#info.configFile, message: reply.message });
      case 'result': {
        const resolve = this.#pending.get(reply.id);
        this.#pending.delete(reply.id);
        return resolve?.(reply.result);
      }
      case 'event':
        for (const listener of this.#events) listener(reply.message);
        return;
      case 'stopped':
        this.#setInfo({ state: 'stopped', configFile: this.#info.configFile, message: 'the local gateway has stopped' });
        this.#stopped?.();
        return;
    }
  }

  #setInfo(info: LocalEngineInfo): void {
    this.#info = info;
    for (const listener of this.#states) listener(info);
  }
}
