import type { AuditStore } from '../audit/audit-types.js';
import type { ApprovalBroker } from '../approvals/approval-types.js';
import type { Config } from '../config/schema.js';
import type { EngineEvents } from '../engine/engine-events.js';
import type { Logger } from '../engine/logger.js';
import type { Identity } from '../identity/identity.js';
import type { RunCredentials } from '../identity/run-credentials.js';
import type { MaskingRules } from '../masking/masking-rules.js';
import type { RunEndpoints } from '../run/run-service.js';

/** What the MCP gateway needs from the engine (proxy/engine/engine.ts builds it). */
export interface McpDeps {
  readonly store: Pick<AuditStore, 'beginSession'>;
  /** The engine's session credentials (shared with `sluice run`): one per MCP session. */
  readonly credentials: RunCredentials;
  readonly events: EngineEvents;
  readonly approvals: Pick<ApprovalBroker, 'get'>;
  /** The config in force (policy, resources, masking for the tool descriptions; mcp settings). */
  readonly config: () => Pick<Config, 'policy' | 'resources' | 'masking' | 'mcp'>;
  /** The resources policy opens to a caller (any type). */
  readonly resourcesFor: (identity: Identity) => readonly string[];
  /** Where the PostgreSQL and HTTP listeners are, with the caller's resources. */
  readonly endpoints: (identity: Identity) => RunEndpoints;
  readonly masking: () => MaskingRules;
  /** Every upstream secret the gateway holds: scrubbed from what is recorded of tool arguments. */
  readonly secrets: () => readonly string[];
  readonly log: Logger;
}
