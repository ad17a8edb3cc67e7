import type { PolicyView, ResourceView } from '../api/api-contract.js';
import type { Config, MaskingRuleConfig, PolicyRuleConfig, ResourceConfig } from '../config/schema.js';
import { isSecret, type Secret } from '../config/secret.js';

// What `policy.view` shows auditors: the config's resources, rules and settings with every
// credential left out. Two layers keep secrets out:
//  1. By construction: the view is built field by field from what is safe to show. Secret fields
//     (passwords, injected values, env of exec resources, audit.store) are never read: only where
//     a secret comes from (`env:NAME`) is named. Upstream URLs are rebuilt from scheme, host,
//     port and path, never echoed, so neither userinfo nor a query string can come along.
//  2. As a backstop: every string of the finished view is checked against every secret value in
//     the config, and one that holds a secret is replaced. A field added later without thinking
//     (or a password pasted into a rule's reason) still cannot reach the console.

/** What replaces anything that looks like or holds a credential. */
export const HIDDEN = '[hidden]';

/** Words that make a command-line option or `key=value` argument a credential (its value is hidden). */
const CREDENTIAL_NAME = /pass|pwd|secret|token|key|auth|credential|bearer|session|cookie|signature/i;

/** Secret pieces shorter than this are not scrubbed on their own: "Bearer", "x" and the like are not secrets. */
const MIN_SECRET_PART = 8;

export function policyView(config: Config): PolicyView {
  const view: PolicyView = {
    resources: config.resources.map(resourceView),
    rules: config.policy.map(ruleView),
    defaultEffect: 'deny',
    roles: { ...config.roles },
    approvals: { timeoutMs: config.approvals.timeout, quorum: config.approvals.quorum, selfApproval: config.approvals.self_approval },
    limits: limitsView(config.limits),
    masking: config.masking.map(maskingView),
  };
  return scrubSecrets(view, secretValues(config));
}

function ruleView(rule: PolicyRuleConfig): Readonly<Record<string, unknown>> {
  return {
    name: rule.name,
    // Every condition as configured (SQL kinds and relations, HTTP methods and paths, who): none
    // of them is a secret field, and the backstop below checks them all the same.
    match: JSON.parse(JSON.stringify(rule.match)) as Record<string, unknown>,
    effect: rule.effect,
    ...(rule.reason !== undefined && { reason: rule.reason }),
    ...(rule.session_grant !== undefined && { session_grant_ms: rule.session_grant }),
  };
}

function maskingView(rule: MaskingRuleConfig): PolicyView['masking'][number] {
  const detectors = rule.detect === undefined ? [] : Array.isArray(rule.detect) ? rule.detect : [rule.detect];
  const jsonPaths = rule.json_paths;
  const targets = rule.columns
    ? [...rule.columns]
    : jsonPaths
      ? jsonPaths.map((path) => `JSON field ${path}`)
      : [...detectors, ...(rule.pattern !== undefined ? [`pattern ${rule.pattern}`] : [])];
  return {
    name: rule.name,
    kind: rule.columns ? 'columns' : 'detect',
    targets,
    strategy: rule.strategy,
    ...(rule.groups && { groups: [...rule.groups] }),
    ...(rule.except_groups && { exceptGroups: [...rule.except_groups] }),
  };
}

function resourceView(resource: ResourceConfig): ResourceView {
  switch (resource.type) {
    case 'postgres': {
      const url = new URL(resource.upstream);
      const user = url.username ? `${decodeURIComponent(url.username)}@` : '';
      return {
        name: resource.name,
        type: 'postgres',
        upstream: `postgres://${user}${url.host}${url.pathname}`,
        credential: resource.password ? `password from ${secretSource(resource.password)} (held by Sluice)` : 'none (trust or client certificate upstream)',
        tls: postgresTls(resource.sslmode),
      };
    }
    case 'http': {
      const url = new URL(resource.upstream);
      return {
        name: resource.name,
        type: 'http',
        upstream: `${url.protocol}//${url.host}${url.pathname}${url.search ? '?…' : ''}`,
        credential: httpCredential(resource.inject),
        tls: url.protocol === 'https:' ? 'https' : 'none (plain http)',
      };
    }
    case 'exec': {
      const names = Object.keys(resource.env);
      const files = Object.keys(resource.files);
      const held = [...(names.length > 0 ? [`environment ${names.join(', ')}`] : []), ...(files.length > 0 ? [`generated files ${files.join(', ')}`] : [])];
      return {
        name: resource.name,
        type: 'exec',
        upstream: commandLine(resource.command),
        credential: held.length > 0 ? `${held.join('; ')} (held by Sluice)` : 'none',
      };
    }
  }
}

function postgresTls(sslmode: 'disable' | 'require' | 'verify-full' | undefined): string {
  switch (sslmode) {
    case 'verify-full':
      return 'verify-full (certificate and host checked)';
    case 'require':
      return 'require (encrypted, certificate not checked)';
    default:
      return 'disable (plain TCP)';
  }
}

function httpCredential(inject: Extract<ResourceConfig, { type: 'http' }>['inject']): string {
  if (!inject) return 'none';
  if (inject.basic) return `basic auth as ${inject.basic.username}, password from ${secretSource(inject.basic.password)} (held by Sluice)`;
  const from = inject.value ? ` from ${secretSource(inject.value)}` : '';
  if (inject.header) return `header ${inject.header}${from} (held by Sluice)`;
  return `query parameter ${inject.query ?? ''}${from} (held by Sluice)`;
}

/** Where a secret comes from, e.g. `env:PROD_DB_PASSWORD` (Secret.source is safe to show); `inline` says it sits in the file. */
function secretSource(secret: Secret): string {
  return secret.source === 'inline' ? 'the config file itself' : secret.source;
}

/**
 * An exec resource's command as it runs, with anything credential-like hidden: the password of
 * a URL (`postgres://u:PW@h`), the value of `--password=PW` or `PGPASSWORD=PW` (also inside a
 * `sh -c` string), a `Bearer PW` / `Basic PW` header value, and the argument after an option such
 * as `--token`. The schema does not hold command arguments as secrets, so an operator may have
 * written one there; hiding too much is the safe mistake.
 */
export function commandLine(command: readonly string[]): string {
  const shown: string[] = [];
  let hideNext = false;
  for (const arg of command) {
    if (hideNext) {
      shown.push(HIDDEN);
      hideNext = false;
      continue;
    }
    // `-p` alone is psql's port, not a password: only long options name a credential by word.
    if (/^--[A-Za-z][\w-]*$/.test(arg) && CREDENTIAL_NAME.test(arg)) hideNext = true;
    shown.push(hideCredentials(arg));
  }
  return shown.map((arg) => (/[\s"'\\]/.test(arg) || arg === '' ? JSON.stringify(arg) : arg)).join(' ');
}

function hideCredentials(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*):[^\s@/]*@/gi, `$1:${HIDDEN}@`)
    .replace(/((?:^|[\s\-?&;])[A-Za-z_][\w.-]*)=("[^"]*"|'[^']*'|[^\s&;]*)/g, (whole: string, name: string) => (CREDENTIAL_NAME.test(name) ? `${name}=${HIDDEN}` : whole))
    .replace(/\b(Bearer|Basic|Token)\s+\S+/gi, `$1 ${HIDDEN}`);
}

/** Limits as configured; sizes stay numbers (bytes). */
function limitsView(limits: Config['limits']): Readonly<Record<string, unknown>> {
  return JSON.parse(JSON.stringify(limits)) as Record<string, unknown>;
}

/** Every secret value the config holds, and each long enough word of it ("Bearer abc…": "abc…" alone too). */
export function secretValues(config: unknown): string[] {
  const values = new Set<string>();
  const seen = new Set<object>();
  const walk = (node: unknown): void => {
    if (isSecret(node)) {
      const value = node.reveal();
      if (value.length > 0) values.add(value);
      for (const part of secretParts(value)) if (part.length >= MIN_SECRET_PART) values.add(part);
      return;
    }
    if (node === null || typeof node !== 'object' || seen.has(node)) return;
    seen.add(node);
    for (const value of Array.isArray(node) ? node : Object.values(node)) walk(value);
  };
  walk(config);
  // Longest first, so a whole value is replaced before any part of it.
  return [...values].sort((a, b) => b.length - a.length);
}

/** The words of a secret ("Bearer abc…"), and the password of one that is a URL (an audit.store). */
function secretParts(value: string): string[] {
  const parts = value.split(/\s+/);
  for (const part of [...parts]) {
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:([^\s@/]+)@/i.exec(part)?.[1];
    if (password === undefined) continue;
    parts.push(password);
    try {
      parts.push(decodeURIComponent(password));
    } catch {
      // Not percent-encoded text: the raw form is already listed.
    }
  }
  return parts;
}

/** The view with every string (keys included) that holds a secret value cleaned, and any Secret object dropped. */
export function scrubSecrets<T>(view: T, secrets: readonly string[]): T {
  const clean = (text: string): string => {
    let result = text;
    for (const secret of secrets) if (result.includes(secret)) result = result.split(secret).join(HIDDEN);
    return result;
  };
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return clean(node);
    // Fail closed: a Secret that got into the view is shown as hidden, never serialized.
    if (isSecret(node)) return HIDDEN;
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([key, value]) => [clean(key), walk(value)]));
    return node;
  };
  return walk(view) as T;
}
