import type { ApiEventMessage } from '../../proxy/api/api-contract.js';
import type { Logger } from '../../proxy/engine/logger.js';
import type { GatewayView } from '../ipc/desktop-contract.js';
import type { GatewayList, GatewayRecord } from './gateway-list.js';
import { RemoteGateway } from './remote-gateway.js';

// The live connections to the remote gateways in the list: one RemoteGateway each, subscribed to
// its events for as long as it is in the list (approvals arrive whether or not the window is
// open: the tray and notifications need them).

export interface GatewayPoolOptions {
  readonly list: GatewayList;
  readonly log: Logger;
  readonly onEvent: (gatewayId: string, message: ApiEventMessage) => void;
  /** A gateway's connection state changed (the settings screen refreshes). */
  readonly onState?: () => void;
  readonly onRemoved?: (gatewayId: string) => void;
}

export class GatewayPool {
  readonly #options: GatewayPoolOptions;
  readonly #live = new Map<string, { gateway: RemoteGateway; stop: () => void; record: GatewayRecord }>();

  constructor(options: GatewayPoolOptions) {
    this.#options = options;
  }

  get gateways(): readonly RemoteGateway[] {
    return [...this.#live.values()].map((entry) => entry.gateway);
  }

  /** Connects to every gateway in the list not connected yet, and drops those no longer in it. */
  sync(): void {
    const records = this.#options.list.list();
    const ids = new Set(records.map((record) => record.id));
    for (const [id, entry] of this.#live) {
      if (ids.has(id)) continue;
      entry.stop();
      entry.gateway.close();
      this.#live.delete(id);
      this.#options.onRemoved?.(id);
    }
    for (const record of records) {
      if (this.#live.has(record.id)) continue;
      let token: string;
      try {
        token = this.#options.list.token(record.id);
      } catch (error) {
        this.#options.log.error('remote gateway token unreadable', { gateway: record.label, reason: (error as Error).message });
        continue;
      }
      const gateway = new RemoteGateway({ id: record.id, label: record.label, url: record.url, token, ...(record.fingerprint !== undefined && { fingerprint: record.fingerprint }) });
      const unsubscribe = gateway.subscribe((message) => this.#options.onEvent(record.id, message));
      const unwatch = gateway.onState((state) => {
        this.#options.log.info('remote gateway', { gateway: record.label, state, ...(gateway.problem !== undefined && { problem: gateway.problem }) });
        this.#options.onState?.();
      });
      this.#live.set(record.id, { gateway, record, stop: () => (unsubscribe(), unwatch()) });
    }
  }

  views(): GatewayView[] {
    return this.#options.list.list().map((record) => {
      const gateway = this.#live.get(record.id)?.gateway;
      return {
        id: record.id,
        label: record.label,
        url: record.url,
        ...(record.fingerprint !== undefined && { fingerprint: record.fingerprint }),
        tokenStorage: record.tokenProtected ? 'encrypted' : 'plain-text',
        state: gateway?.state ?? 'offline',
        ...(gateway?.problem !== undefined ? { problem: gateway.problem } : !gateway ? { problem: 'its token cannot be read; remove the gateway and add it again' } : {}),
      };
    });
  }

  close(): void {
    for (const entry of this.#live.values()) {
      entry.stop();
      entry.gateway.close();
    }
    this.#live.clear();
  }
}
