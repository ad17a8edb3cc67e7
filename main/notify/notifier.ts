import type { ApiEventMessage } from '../../proxy/api/api-contract.js';
import type { InboxApproval } from '../ipc/bridge-types.js';
import { groupText, requestText } from './notification-text.js';

// Which engine events become native notifications. One per new approval request, until a burst
// passes `maxSingles` within `burstMs`: the rest of the burst is one grouped notification at the
// burst's end (naming how many), so fifty held statements are not fifty toasts. Nothing while
// notifications are off, in do-not-disturb, or while the window is focused (the inbox is in
// front of the approver). A request settled before its grouped notification is left out of it,
// and a shown notification is withdrawn once its request is settled.

export interface ShownNotification {
  /** Stable per request (or per group): closing and clicking refer to it. */
  readonly key: string;
  readonly title: string;
  readonly body: string;
  /** What clicking opens: the request, or the inbox for a group. */
  readonly target: { readonly approvalId: string } | { readonly inbox: true };
}

export interface NotificationSink {
  show(notification: ShownNotification): void;
  close(key: string): void;
}

export interface Timers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface NotifierOptions {
  readonly sink: NotificationSink;
  readonly settings: () => { readonly notifications: boolean; readonly doNotDisturb: boolean };
  readonly windowFocused: () => boolean;
  readonly now?: () => number;
  readonly timers?: Timers;
  /** Single notifications allowed per burst before grouping (default 3). */
  readonly maxSingles?: number;
  /** How long a burst lasts from its first notification (default 10 s). */
  readonly burstMs?: number;
}

const SEEN_LIMIT = 5_000;

export class ApprovalNotifier {
  readonly #options: NotifierOptions;
  readonly #now: () => number;
  readonly #timers: Timers;
  readonly #maxSingles: number;
  readonly #burstMs: number;
  /** Request ids already handled (a shared queue or a reconnect may deliver one twice). */
  readonly #seen = new Set<string>();
  readonly #shown = new Set<string>();
  #burstStart = -Infinity;
  #singles = 0;
  #held: InboxApproval[] = [];
  #flush: unknown;
  #groups = 0;

  constructor(options: NotifierOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#timers = options.timers ?? { set: (run, ms) => setTimeout(run, ms), clear: (handle) => clearTimeout(handle as NodeJS.Timeout) };
    this.#maxSingles = options.maxSingles ?? 3;
    this.#burstMs = options.burstMs ?? 10_000;
  }

  handle(message: ApiEventMessage): void {
    if (message.event === 'approval.requested') return this.#requested(message.payload as InboxApproval);
    if (message.event === 'approval.decided') return this.#settled(message.payload.id);
  }

  #requested(approval: InboxApproval): void {
    if (approval.status !== 'pending' || this.#seen.has(approval.id)) return;
    this.#remember(approval.id);
    const settings = this.#options.settings();
    if (!settings.notifications || settings.doNotDisturb || this.#options.windowFocused()) return;
    if (approval.expiresAt <= this.#now()) return;

    const now = this.#now();
    if (now - this.#burstStart >= this.#burstMs) {
      this.#burstStart = now;
      this.#singles = 0;
    }
    if (this.#singles < this.#maxSingles) {
      this.#singles++;
      const key = `approval-${approval.id}`;
      this.#shown.add(key);
      this.#options.sink.show({ key, ...requestText(approval), target: { approvalId: approval.id } });
      return;
    }
    this.#held.push(approval);
    this.#flush ??= this.#timers.set(() => this.#showGroup(), Math.max(0, this.#burstStart + this.#burstMs - now));
  }

  #settled(id: string): void {
    this.#held = this.#held.filter((approval) => approval.id !== id);
    const key = `approval-${id}`;
    if (this.#shown.delete(key)) this.#options.sink.close(key);
  }

  #showGroup(): void {
    this.#flush = undefined;
    const held = this.#held;
    this.#held = [];
    const settings = this.#options.settings();
    // Turned off (or the approver came to the window) while the group waited.
    if (held.length === 0 || !settings.notifications || settings.doNotDisturb || this.#options.windowFocused()) return;
    if (held.length === 1) {
      const key = `approval-${held[0]!.id}`;
      this.#shown.add(key);
      this.#options.sink.show({ key, ...requestText(held[0]!), target: { approvalId: held[0]!.id } });
      return;
    }
    this.#options.sink.show({ key: `group-${++this.#groups}`, ...groupText(held), target: { inbox: true } });
  }

  #remember(id: string): void {
    this.#seen.add(id);
    if (this.#seen.size > SEEN_LIMIT) this.#seen.delete(this.#seen.values().next().value!);
  }

  /** Drops a pending group (app quitting). */
  dispose(): void {
    if (this.#flush !== undefined) this.#timers.clear(this.#flush);
    this.#flush = undefined;
    this.#held = [];
  }
}
