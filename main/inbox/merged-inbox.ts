import type { Approval, ApiEventMessage, ApiMethodName, ApiResult, WhoAmI } from '../../proxy/api/api-contract.js';
import type { InboxApproval } from '../ipc/bridge-types.js';

// One inbox over every gateway the desktop knows: its own local engine and the remote ones.
// Approval calls fan out (list) or go to the gateway that holds the request (get, decide); each
// approval carries `origin`, the gateway's name, so the approver sees where it comes from.
// Everything else (sessions, policy, masking) is the local engine's. It also keeps the pending
// count the tray and dock show.

export interface ApprovalSource {
  readonly id: string;
  /** What the approver reads ("This computer", "prod-eu"). */
  readonly label: string;
  call(method: ApiMethodName, input: unknown): Promise<ApiResult<unknown>>;
}

export const LOCAL_SOURCE_ID = 'local';

export interface MergedInboxOptions {
  readonly local: ApprovalSource;
  /** The remote gateways as they are now (the list changes in settings). */
  readonly remotes: () => readonly ApprovalSource[];
  readonly now?: () => number;
  /**
   * Who the desktop user is when the local engine cannot say (not running): the window still
   * opens, for remote approvals and offline bundles.
   */
  readonly operator?: () => WhoAmI;
}

const ROUTED = new Set<ApiMethodName>(['approvals.get', 'approvals.decide']);

export class MergedInbox {
  readonly #options: MergedInboxOptions;
  readonly #now: () => number;
  /** Approval id -> the source that answered for it last. */
  readonly #owner = new Map<string, string>();
  /** Pending approvals across every source, for the tray's count. */
  readonly #pending = new Map<string, Approval>();
  readonly #changes = new Set<(pending: number) => void>();

  constructor(options: MergedInboxOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  #sources(): ApprovalSource[] {
    return [this.#options.local, ...this.#options.remotes()];
  }

  async call(method: ApiMethodName, input: unknown): Promise<ApiResult<unknown>> {
    if (method === 'approvals.list') return this.#list(input as { status?: string; limit?: number });
    if (ROUTED.has(method)) return this.#routed(method, input as { id: string });
    const result = await this.#options.local.call(method, input);
    if (method === 'identity.whoami' && !result.ok && result.error.code === 'unavailable' && this.#options.operator) return { ok: true, value: this.#options.operator() };
    return result;
  }

  /** An event from `source`: tagged with its origin and counted; undefined for an event the window should not get. */
  noteEvent(sourceId: string, message: ApiEventMessage): ApiEventMessage | undefined {
    const source = this.#sources().find((candidate) => candidate.id === sourceId);
    if (!source) return undefined;
    // Only approvals cross from remote gateways: their sessions are theirs to audit.
    if (sourceId !== LOCAL_SOURCE_ID && message.event !== 'approval.requested' && message.event !== 'approval.decided') return undefined;
    if (message.event !== 'approval.requested' && message.event !== 'approval.decided') return message;
    const approval = this.#tag(source, message.payload);
    this.#track(approval);
    return { event: message.event, payload: approval } as ApiEventMessage;
  }

  /** Pending approvals not yet expired, across every gateway. */
  pendingCount(): number {
    const now = this.#now();
    let count = 0;
    for (const approval of this.#pending.values()) if (approval.expiresAt > now) count++;
    return count;
  }

  onPendingChange(listener: (pending: number) => void): () => void {
    this.#changes.add(listener);
    return () => void this.#changes.delete(listener);
  }

  /** A gateway left the list: its approvals leave the count. */
  forget(sourceId: string): void {
    for (const [id, owner] of this.#owner) {
      if (owner !== sourceId) continue;
      this.#owner.delete(id);
      this.#pending.delete(id);
    }
    this.#changed();
  }

  async #list(input: { status?: string; limit?: number }): Promise<ApiResult<unknown>> {
    const sources = this.#sources();
    const answers = await Promise.all(sources.map(async (source) => ({ source, result: await source.call('approvals.list', input) })));
    const merged = new Map<string, InboxApproval>();
    let firstError: ApiResult<unknown> | undefined;
    let answered = 0;
    for (const { source, result } of answers) {
      if (!result.ok) {
        // One gateway down does not empty the inbox; the settings screen shows which is down.
        firstError ??= result;
        continue;
      }
      answered++;
      for (const approval of result.value as Approval[]) {
        const tagged = this.#tag(source, approval);
        const current = merged.get(tagged.id);
        // Gateways sharing one queue list the same approval: keep the copy that knows more.
        merged.set(tagged.id, current ? newer(current, tagged) : tagged);
      }
    }
    if (answered === 0 && firstError) return firstError;
    const list = [...merged.values()].sort((a, b) => b.requestedAt - a.requestedAt || b.id.localeCompare(a.id)).slice(0, input.limit ?? 100);
    if (input.status === 'pending') this.#replacePending(list, answers.filter((answer) => answer.result.ok).map((answer) => answer.source.id));
    else for (const approval of list) this.#track(approval);
    return { ok: true, value: list };
  }

  async #routed(method: ApiMethodName, input: { id: string }): Promise<ApiResult<unknown>> {
    const sources = this.#sources();
    const owner = sources.find((source) => source.id === this.#owner.get(input.id));
    // The known holder first; then every gateway in turn (an id seen on none yet).
    const order = owner ? [owner, ...sources.filter((source) => source !== owner)] : sources;
    let answer: ApiResult<unknown> | undefined;
    for (const source of order) {
      const result = await source.call(method, input);
      if (!result.ok && result.error.code === 'not_found') {
        answer ??= result;
        continue;
      }
      if (!result.ok) return result;
      const approval = this.#tag(source, result.value as Approval);
      this.#track(approval);
      return { ok: true, value: approval };
    }
    return answer ?? { ok: false, error: { code: 'not_found', message: `no gateway holds the approval ${input.id}` } };
  }

  #tag(source: ApprovalSource, approval: Approval): InboxApproval {
    this.#owner.set(approval.id, source.id);
    return { ...approval, origin: source.label };
  }

  #track(approval: Approval): void {
    const had = this.#pending.has(approval.id);
    if (approval.status === 'pending') this.#pending.set(approval.id, approval);
    else this.#pending.delete(approval.id);
    if (had !== this.#pending.has(approval.id)) this.#changed();
  }

  /** A full pending list from these sources: what they no longer list is no longer pending. */
  #replacePending(list: readonly Approval[], answeredSources: readonly string[]): void {
    const answered = new Set(answeredSources);
    for (const [id] of this.#pending) {
      const owner = this.#owner.get(id);
      if (owner !== undefined && answered.has(owner)) this.#pending.delete(id);
    }
    for (const approval of list) if (approval.status === 'pending') this.#pending.set(approval.id, approval);
    this.#changed();
  }

  #changed(): void {
    const count = this.pendingCount();
    for (const listener of this.#changes) listener(count);
  }
}

/** Settled beats pending; more votes beat fewer (the console's approvals-merge rule). */
function newer(a: InboxApproval, b: InboxApproval): InboxApproval {
  if ((a.status === 'pending') !== (b.status === 'pending')) return a.status === 'pending' ? b : a;
  return b.votes.length > a.votes.length ? b : a;
}
