import type { LimitRuleConfig, LimitsConfig } from '../config/schema.js';

export const LIMIT_NAMES = ['rows_per_statement', 'bytes_per_statement', 'bytes_per_session', 'statements_per_minute'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

/** Where a top-level limit came from, in messages and audit events. */
export const TOP_LEVEL = 'limits';

/** One limit in force for a caller, and where it was configured. */
export interface EffectiveLimit {
  readonly value: number;
  /** The limit rule's name, or "limits" for the top level. */
  readonly source: string;
}

/** The limits in force for one set of caller groups. */
export interface CallerLimits {
  readonly limits: Readonly<Partial<Record<LimitName, EffectiveLimit>>>;
  /** What happens past any of them: stop the result (deny) or hold it for approvers (approve). */
  readonly onExceed: 'deny' | 'approve';
}

const MAX_CACHED = 1_000;
const cache = new WeakMap<LimitsConfig, Map<string, CallerLimits | null>>();

/**
 * The limits for a caller with these groups, or undefined when none applies. Rules that apply
 * (a group in `groups`, none in `except_groups`) beat the top level per limit, and among them
 * the tightest value wins (the first rule on a tie). on_exceed is approve only when every source
 * of a limit in force says approve; a rule without on_exceed takes the top level's, and unset
 * everywhere is deny. Results are kept per group set, as every session of a CI job's group asks
 * for the same.
 */
export function limitsFor(config: LimitsConfig, groups: readonly string[]): CallerLimits | undefined {
  let byGroups = cache.get(config);
  if (!byGroups) {
    byGroups = new Map();
    cache.set(config, byGroups);
  }
  const key = [...groups].sort().join('\n');
  let limits = byGroups.get(key);
  if (limits === undefined) {
    limits = resolve(config, new Set(groups)) ?? null;
    // Groups from OIDC claim templates (repo:{repository}) vary without bound: keep the cache bounded.
    if (byGroups.size >= MAX_CACHED) byGroups.clear();
    byGroups.set(key, limits);
  }
  return limits ?? undefined;
}

/** True when some limit applies to results (what the relay's result limiter enforces). */
export function limitsResults(limits: CallerLimits): boolean {
  const { rows_per_statement, bytes_per_statement, bytes_per_session } = limits.limits;
  return rows_per_statement !== undefined || bytes_per_statement !== undefined || bytes_per_session !== undefined;
}

/** How a limit's source is named where the administrator would change it (`limits.rules[ci].rows_per_statement`). */
export function limitSetting(name: LimitName | 'on_exceed', source: string): string {
  return source === TOP_LEVEL ? `limits.${name}` : `limits.rules[${source}].${name}`;
}

function resolve(config: LimitsConfig, groups: ReadonlySet<string>): CallerLimits | undefined {
  const applying = config.rules.filter((rule) => appliesTo(rule, groups));
  const limits: Partial<Record<LimitName, EffectiveLimit>> = {};
  const onExceed = new Map<string, 'deny' | 'approve'>();
  for (const name of LIMIT_NAMES) {
    let chosen: { value: number; rule?: LimitRuleConfig } | undefined;
    for (const rule of applying) {
      const value = rule[name];
      if (value !== undefined && (!chosen || value < chosen.value)) chosen = { value, rule };
    }
    const top = config[name];
    if (!chosen && top !== undefined) chosen = { value: top };
    if (!chosen) continue;
    const source = chosen.rule?.name ?? TOP_LEVEL;
    limits[name] = { value: chosen.value, source };
    onExceed.set(source, chosen.rule?.on_exceed ?? config.on_exceed ?? 'deny');
  }
  if (onExceed.size === 0) return undefined;
  return { limits, onExceed: [...onExceed.values()].every((effect) => effect === 'approve') ? 'approve' : 'deny' };
}

/** The scoping masking rules use too (masking-rules.ts has the same check for its rules). */
function appliesTo(scope: { readonly groups?: readonly string[]; readonly except_groups?: readonly string[] }, groups: ReadonlySet<string>): boolean {
  if (scope.groups && !scope.groups.some((group) => groups.has(group))) return false;
  if (scope.except_groups?.some((group) => groups.has(group))) return false;
  return true;
}
