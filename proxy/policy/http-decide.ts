import { effectReason, whoWhy } from './decision-text.js';
import type { Decision, PolicyRequest } from './decision.js';
import { decisionFromMatches } from './decision-from-matches.js';
import { denied, GATEWAY_RULES } from './gateway-decisions.js';
import type { HttpRequestClass } from './http-request.js';
import { restrictiveHttpHit, uncoveredHttp, wantsFields, type HttpHit } from './http-rule-match.js';
import { appliesToCaller, type Caller, type CompiledRule } from './rule-match.js';

// decideHttp: the policy's answer for one HTTP request, with the semantics of decide() for SQL
// (policy-engine.ts): default deny, the most restrictive match wins (deny > approve > allow, the
// first in the file among equals), deny/approve rules match ANY listed value and allow rules
// must cover ALL of the request. Rules listing SQL dimensions were left out of `rules` by the
// engine: they never match a request.

const MAX_NEAR_MISSES = 3;

export interface HttpPolicyRequest {
  readonly identity: PolicyRequest['identity'];
  readonly resource: string;
  readonly request: HttpRequestClass;
}

/** The decision for one request, given the rules that can apply to its resource (undefined: no such resource). */
export function decideHttpRequest(rules: readonly CompiledRule[] | undefined, { identity, resource, request }: HttpPolicyRequest): Decision {
  if (!rules) return denied(GATEWAY_RULES.default, `no resource named "${resource}" is configured`, `unknown resource ${resource}`);
  let matches: { rule: CompiledRule; hit?: HttpHit }[] | undefined;
  for (const rule of rules) {
    if (!appliesToCaller(rule, identity)) continue;
    if (rule.restrictive) {
      const hit = restrictiveHttpHit(rule.http, request);
      if (hit) (matches ??= []).push({ rule, hit });
    } else if (uncoveredHttp(rule.http, request) === undefined) {
      (matches ??= []).push({ rule });
    }
  }
  if (!matches) return defaultDeny(rules, identity, resource, request);
  return decisionFromMatches(matches, {
    reason: ({ rule, hit }) => generatedReason(rule, hit, request),
    why: (match) => (match.hit ? restrictiveWhy(match.rule, match.hit, identity, resource) : allowWhy(match.rule, request, identity, resource)),
    // Among equals, a rule that matched on what the request says goes before one that matched a body it could not read.
    tieBreak: (a, b) => Number(a.hit?.assumed === true) - Number(b.hit?.assumed === true),
  });
}

/**
 * Whether deciding this request needs its body's fields: some rule for the caller names fields
 * and matches the request's method and path. The gateway then reads the body (up to the
 * resource's buffer_limit) before asking decideHttp.
 */
export function httpRequestWantsFields(rules: readonly CompiledRule[] | undefined, identity: Caller, request: HttpRequestClass): boolean {
  let wants = false;
  for (const rule of rules ?? []) {
    if (!appliesToCaller(rule, identity)) continue;
    // Denied whatever the body holds: it need not be read (nor its client asked to send it).
    if (rule.effect === 'deny' && !rule.http?.fields && restrictiveHttpHit(rule.http, request)) return false;
    if (wantsFields(rule.http, rule.restrictive, request)) wants = true;
  }
  return wants;
}

function defaultDeny(rules: readonly CompiledRule[], identity: Caller, resource: string, request: HttpRequestClass): Decision {
  const misses: string[] = [];
  for (const rule of rules) {
    if (rule.restrictive || !appliesToCaller(rule, identity)) continue;
    if (misses.length === MAX_NEAR_MISSES) {
      misses.push('…');
      break;
    }
    misses.push(`${rule.name} does not cover ${uncoveredHttp(rule.http, request) ?? 'it'}`);
  }
  return denied(GATEWAY_RULES.default, `no policy rule allows ${request.text} on ${resource}`, misses.length > 0 ? `no rule matched; ${misses.join('; ')}` : 'no rule matched');
}

/** `method DELETE, path /users/7`, `field $.role`; who it matched when it lists no HTTP dimension. */
function restrictiveWhy(rule: CompiledRule, hit: HttpHit, caller: Caller, resource: string): string {
  const parts: string[] = [];
  if (hit.method) parts.push(`method ${hit.method}`);
  if (hit.path) parts.push(`path ${hit.path}`);
  if (hit.field) parts.push(`field ${hit.field}`);
  return parts.length > 0 ? parts.join(', ') : who(rule, caller, resource);
}

function allowWhy(rule: CompiledRule, request: HttpRequestClass, caller: Caller, resource: string): string {
  if (!rule.http) return who(rule, caller, resource);
  return rule.http.fields ? `${request.text} with listed fields` : request.text;
}

/** `POST /refunds setting $.amount needs approval (rule refunds)`; a deny says only what it denied. */
function generatedReason(rule: CompiledRule, hit: HttpHit | undefined, request: HttpRequestClass): string {
  return effectReason(rule, `${request.text}${hit?.field ? ` setting ${hit.field}` : ''}`);
}

function who(rule: CompiledRule, caller: Caller, resource: string): string {
  const words = whoWhy(rule, caller, resource);
  return words === 'every statement' ? 'every request' : words;
}
