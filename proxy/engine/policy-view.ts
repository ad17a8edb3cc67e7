import type { PolicyView, ResourceView } from '../api/api-contract.js';
import type { Config, ResourceConfig } from '../config/schema.js';

// What `policy.view` shows auditors: the config's resources, rules and settings with every
// credential left out. Built from the parsed config, where secrets are Secret objects that
// never serialize, and upstream URLs are rebuilt from their parts rather than echoed.

export function policyView(config: Config): PolicyView {
  return {
    resources: config.resources.map(resourceView),
    rules: config.policy.map((rule) => ({
      name: rule.name,
      match: rule.match,
      effect: rule.effect,
      ...(rule.reason !== undefined && { reason: rule.reason }),
      ...(rule.session_grant !== undefined && { session_grant_ms: rule.session_grant }),
    })),
    defaultEffect: 'deny',
    roles: config.roles,
    approvals: { timeoutMs: config.approvals.timeout, quorum: config.approvals.quorum, selfApproval: config.approvals.self_approval },
    limits: limitsView(config.limits),
    masking: config.masking.map((rule) => ({
      name: rule.name,
      kind: rule.columns ? 'columns' : 'detect',
      targets: rule.columns ?? [...(Array.isArray(rule.detect) ? rule.detect : rule.detect ? [rule.detect] : []), ...(rule.pattern !== undefined ? [`pattern ${String(rule.pattern)}`] : [])].map(String),
      strategy: rule.strategy,
      ...(rule.groups && { groups: rule.groups }),
      ...(rule.except_groups && { exceptGroups: rule.except_groups }),
    })),
  };
}

function resourceView(resource: ResourceConfig): ResourceView {
  switch (resource.type) {
    case 'postgres': {
      const url = new URL(resource.upstream);
      return {
        name: resource.name,
        type: 'postgres',
        upstream: `postgres://${url.username ? `${decodeURIComponent(url.username)}@` : ''}${url.host}${url.pathname}`,
        credential: resource.password ? 'password (held by Sluice)' : 'none (trust or client certificate upstream)',
        tls: resource.sslmode ?? 'disable',
      };
    }
    case 'http': {
      const url = new URL(resource.upstream);
      const inject = resource.inject;
      const credential = !inject ? 'none' : inject.basic ? 'basic auth (held by Sluice)' : inject.header ? `header ${inject.header} (held by Sluice)` : `query parameter ${inject.query ?? ''} (held by Sluice)`;
      return { name: resource.name, type: 'http', upstream: `${url.protocol}//${url.host}${url.pathname}`, credential };
    }
    case 'exec':
      return {
        name: resource.name,
        type: 'exec',
        upstream: resource.command.join(' '),
        credential: Object.keys(resource.env).length > 0 ? `environment ${Object.keys(resource.env).join(', ')} (held by Sluice)` : 'none',
      };
  }
}

/** Limits as configured; sizes stay numbers (bytes), durations are not involved. */
function limitsView(limits: Config['limits']): Readonly<Record<string, unknown>> {
  return JSON.parse(JSON.stringify(limits)) as Record<string, unknown>;
}
