import type { Config, MaskingRuleConfig, PolicyRuleConfig } from '../config/schema.js';
import type { Identity } from '../identity/identity.js';
import { appliesToCaller, appliesToResource, compileRule, type CompiledRule } from '../policy/rule-match.js';

// What the tool descriptions tell an agent about the policy it works under, so it plans well
// (a SELECT runs, a DELETE waits for a person, these columns come back masked). Read from the
// caller's own rules; it only describes: every call is still decided by the gateway's data path.

export interface ResourcePolicy {
  readonly name: string;
  readonly type: 'postgres' | 'http';
  /** One line each: what runs, what waits for approval, what is refused. */
  readonly rules: readonly string[];
  /** Column rules that apply to this caller (`schema.table.column` globs, with their strategy). */
  readonly maskedColumns: readonly { readonly column: string; readonly strategy: string }[];
  /** Content detectors applied to every value (e.g. email, card). */
  readonly detectors: readonly string[];
}

type PolicySource = Pick<Config, 'policy' | 'resources' | 'masking'>;

/** The postgres and http resources open to this caller, each with the rules and masking that apply to it. */
export function resourcePolicies(config: PolicySource, identity: Identity, open: readonly string[]): ResourcePolicy[] {
  const compiled = config.policy.map((rule) => [rule, compileRule(rule)] as const).filter(([, rule]) => appliesToCaller(rule, identity));
  const masking = config.masking.filter((rule) => maskingApplies(rule, identity.groups));
  const maskedColumns = masking.flatMap((rule) => (rule.columns ?? []).map((column) => ({ column, strategy: rule.strategy })));
  const detectors = [...new Set(masking.flatMap((rule) => (rule.detect === undefined ? (rule.pattern !== undefined ? [`pattern ${rule.name}`] : []) : Array.isArray(rule.detect) ? rule.detect : [rule.detect])))];
  const policies: ResourcePolicy[] = [];
  for (const resource of config.resources) {
    if (!open.includes(resource.name) || (resource.type !== 'postgres' && resource.type !== 'http')) continue;
    const rules = compiled.filter(([, rule]) => appliesToResource(rule, resource.name)).map(([config, rule]) => ruleLine(config, rule));
    policies.push({ name: resource.name, type: resource.type, rules, maskedColumns: resource.type === 'postgres' ? maskedColumns : [], detectors });
  }
  return policies;
}

/** The policy paragraph of a tool description. */
export function policyText(policies: readonly ResourcePolicy[]): string {
  return policies
    .map((resource) => {
      const lines = [`- ${resource.name} (${resource.type}):`, ...resource.rules.map((line) => `    ${line}`)];
      if (resource.maskedColumns.length > 0) lines.push(`    masked columns: ${resource.maskedColumns.map((entry) => `${entry.column} (${entry.strategy})`).join(', ')}`);
      if (resource.detectors.length > 0) lines.push(`    values masked wherever they appear: ${resource.detectors.join(', ')}`);
      return lines.join('\n');
    })
    .join('\n');
}

function ruleLine(config: PolicyRuleConfig, rule: CompiledRule): string {
  const what = [
    rule.kinds ? [...rule.kinds].join('/') : undefined,
    config.match.relations ? `on ${config.match.relations.join(', ')}` : undefined,
    config.match.methods ? config.match.methods.join('/') : undefined,
    config.match.paths ? `paths ${config.match.paths.join(', ')}` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(' ');
  const subject = what === '' ? 'everything' : what;
  const effect = { allow: 'runs', approve: 'waits for a person to approve it', deny: 'is refused' }[rule.effect];
  const allowsWrites = rule.effect === 'allow' && (!rule.kinds || [...rule.kinds].some((kind) => kind !== 'select'));
  const note = rule.effect === 'allow' && !allowsWrites && rule.kinds ? ' (read-only)' : '';
  return `${subject} ${effect}${note}${config.reason ? `: ${config.reason}` : ''} [rule ${rule.name}]`;
}

function maskingApplies(rule: MaskingRuleConfig, groups: readonly string[]): boolean {
  if (rule.groups && !rule.groups.some((group) => groups.includes(group))) return false;
  if (rule.except_groups?.some((group) => groups.includes(group))) return false;
  return true;
}
