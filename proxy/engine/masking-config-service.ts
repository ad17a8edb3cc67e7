import type { MaskingConfigService } from '../api/api-contract.js';
import type { AuditStore } from '../audit/audit-types.js';
import type { MaskingRuleConfig } from '../config/schema.js';
import type { Logger } from './logger.js';

// The rule editor's back end: reads the `masking:` section of the gateway's config file and
// replaces it (validated like the whole file, written atomically with a backup, applied to new
// sessions, recorded as an audit event).

export interface MaskingConfigOptions {
  readonly file: string;
  readonly store: AuditStore;
  /** Sessions open now (they keep the rules they started with). */
  readonly openSessions: () => number;
  /** Puts validated rules in force for new sessions. */
  readonly apply: (rules: readonly MaskingRuleConfig[]) => void;
  readonly log: Logger;
}

export function maskingConfigService(_options: MaskingConfigOptions): MaskingConfigService {
  // Placeholder until the rule editor's back end lands (this change): refuses rather than pretends.
  const refuse = async (): Promise<never> => {
    throw new Error('masking.rules is not implemented yet');
  };
  return { current: refuse, save: refuse };
}
