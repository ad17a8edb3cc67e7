import type { Approval, ApiError, ApiResult } from '../../../../proxy/api/api-contract.js';
import type { EngineClient } from '../../engine-client.js';

// PLACEHOLDER (the approvals inbox lands in this change): the shape App relies on.
export interface DecideRequest {
  readonly decision: 'approve' | 'deny';
  readonly reason?: string;
  readonly scope?: 'once' | 'session';
}

export interface ApprovalsState {
  /** Pending requests, oldest first (the one expiring soonest on top). */
  readonly pending: readonly Approval[];
  /** Decided, expired and cancelled ones, newest first. */
  readonly decided: readonly Approval[];
  readonly loading: boolean;
  readonly error?: ApiError;
  decide(id: string, request: DecideRequest): Promise<ApiResult<Approval>>;
}

export function useApprovals(_client: EngineClient, _enabled: boolean): ApprovalsState {
  return { pending: [], decided: [], loading: false, decide: async () => ({ ok: false, error: { code: 'internal', message: 'not built yet' } }) };
}
