import type { Config, PolicyRuleConfig } from '../config/schema.js';
import type { Identity } from '../identity/identity.js';

/**
 * The resources an identity may open at all: those that some allow or approve rule could match
 * for it. Whether each statement may run is the policy engine's decision; this only keeps a
 * caller with no rule for a resource from connecting to it (and from learning it exists).
 */
export function resourcesFor(identity: Identity, config: Pick<Config, 'resources' | 'policy'>): string[] {
  const rules = config.policy.filter((rule) => rule.effect !== 'deny' && appliesTo(rule, identity));
  return config.resources
    .filter((resource) => rules.some((rule) => !rule.match.resources || rule.match.resources.includes('*') || rule.match.resources.includes(resource.name)))
    .map((resource) => resource.name);
}

function appliesTo(rule: PolicyRuleConfig, identity: Identity): boolean {
  const { groups, subjects } = rule.match;
  if (groups && !groups.some((group) => identity.groups.includes(group))) return false;
  if (subjects && !subjects.includes(identity.subject)) return false;
  return true;
}
