import type { ApprovalBroker } from '../approvals/approval-types.js';
import type { AuditStore } from '../audit/audit-types.js';
import type { Logger } from '../engine/logger.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { MaskingRules } from '../masking/masking-rules.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import type { HttpResource } from './http-resources.js';
import type { RequestRates } from './request-rates.js';

/** What every request on every HTTP listener shares. */
export interface HttpGatewayContext {
  readonly authenticator: Authenticator;
  readonly policy: PolicyEngine;
  readonly resources: ReadonlyMap<string, HttpResource>;
  readonly store: AuditStore;
  /** audit.durability strict: a request is recorded (committed) before it is forwarded. */
  readonly strictAudit: boolean;
  readonly approvals: ApprovalBroker;
  /** Read per request: the masking rule editor may swap the rules while the gateway runs. */
  readonly masking: { readonly rules: MaskingRules };
  /** How much of each body the record keeps (audit.result_sample.bytes). */
  readonly sampleBytes: number;
  /** limits statements_per_minute, counted per caller and resource. */
  readonly rates: RequestRates;
  readonly log: Logger;
}

/** One listener's way in: the shared one (/r/NAME/...) or a resource's own port. */
export interface ListenerSide {
  /** The resource this listener serves at its root; undefined for the shared listener. */
  readonly resource?: string;
  /** Accepted credentials only over TLS (a non-loopback listener without TLS, unless allowed). */
  readonly requireTls: boolean;
  readonly secure: boolean;
}

/** The gateway path a resource is reached at on a listener (`/r/billing`, or empty at a resource's own root). */
export function prefixFor(side: ListenerSide, resource: string): string {
  return side.resource === undefined ? `/r/${resource}` : '';
}
