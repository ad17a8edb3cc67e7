import { randomBytes } from 'node:crypto';
import type { z } from 'zod';
import { ApprovalError, type ApprovalErrorCode } from '../approvals/approval-types.js';
import { assertNever } from '../common/assert-never.js';
import type { Logger } from '../engine/logger.js';
import type { Identity } from '../identity/identity.js';
import { API_METHODS, isApiMethodName, type ApiContext, type ApiMethod, type ApiServices } from './api-contract.js';
import { ApiFailure, failed, type ApiErrorCode, type ApiResult } from './api-result.js';
import { rolesOf, type ApiRole, type RolesConfig } from './api-roles.js';

export interface ApiDispatchOptions {
  readonly roles: RolesConfig;
  readonly services: ApiServices;
  readonly log: Logger;
}

/**
 * Runs one call for an authenticated caller: method lookup, role check, input validation, the
 * handler, and every failure turned into an ApiResult error. Never throws.
 */
export async function invokeApi(name: string, input: unknown, identity: Identity, options: ApiDispatchOptions, client?: string): Promise<ApiResult<unknown>> {
  const result = await dispatch(name, input, identity, options, client);
  options.log.info('api call', {
    method: isApiMethodName(name) ? name : JSON.stringify(name.slice(0, 100)),
    subject: identity.subject,
    outcome: result.ok ? 'ok' : result.error.code,
  });
  return result;
}

async function dispatch(name: string, input: unknown, identity: Identity, options: ApiDispatchOptions, client: string | undefined): Promise<ApiResult<unknown>> {
  if (!isApiMethodName(name)) return failed('not_found', `the engine API has no method ${JSON.stringify(name.slice(0, 100))}`);
  // Widened once here: each entry's own types were checked where the table declares it.
  // A command's session credential reaches resources; of the API, only its client's own calls.
  if (identity.run !== undefined && name !== 'runs.output' && name !== 'runs.finish') {
    return failed('forbidden', 'a `sluice run` session credential reaches resources (PostgreSQL, HTTP), not the engine API');
  }
  const spec = API_METHODS[name] as unknown as ApiMethod<z.ZodType, unknown>;
  const roles = rolesOf(identity, options.roles);
  if (spec.role !== 'any' && !roles.has(spec.role)) return failed('forbidden', roleRefusal(name, spec.role, identity));
  const parsed = spec.input.safeParse(input);
  if (!parsed.success) return failed('invalid_input', describeIssues(parsed.error.issues));
  const ctx: ApiContext = { identity, roles, services: options.services, ...(client !== undefined && { client }) };
  try {
    return { ok: true, value: await spec.handler(parsed.data, ctx) };
  } catch (error) {
    return { ok: false, error: toApiError(error, name, options.log) };
  }
}

function roleRefusal(name: string, role: ApiRole, identity: Identity): string {
  const groups = identity.groups.length === 0 ? 'none' : identity.groups.slice(0, 20).join(', ') + (identity.groups.length > 20 ? ', …' : '');
  return `you are not in the ${role} role, which ${name} needs (your groups: ${groups}); ask an admin to add one of your groups to roles.${role}`;
}

/** The issues as `field: problem`, so a client (or person) knows which field to fix. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  const lines = issues.slice(0, 5).map((issue) => {
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${joinPath([...issue.path, key])}: unknown field`).join('; ');
    if (issue.path.length === 0 && issue.code === 'invalid_type') return 'input: expected a JSON object';
    return `${joinPath(issue.path)}: ${issue.message}`;
  });
  return lines.join('; ') + (issues.length > 5 ? ` (and ${issues.length - 5} more)` : '');
}

function joinPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'input';
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}

function toApiError(error: unknown, name: string, log: Logger): { code: ApiErrorCode; message: string } {
  if (error instanceof ApiFailure) return error.toError();
  if (error instanceof ApprovalError) return { code: approvalErrorCode(error.code), message: error.message };
  // Unexpected: the log gets the detail, the caller a reference to find it by.
  const ref = randomBytes(6).toString('hex');
  log.error('api method failed', { method: name, ref, reason: error instanceof Error ? error.message : String(error) });
  return { code: 'internal', message: `${name} failed inside the gateway; its log has the detail under ref ${ref}` };
}

/** The broker's refusals, by what the approver can do about them. */
export function approvalErrorCode(code: ApprovalErrorCode): ApiErrorCode {
  switch (code) {
    case 'not_found':
      return 'not_found';
    case 'not_pending': // already decided, expired or cancelled
    case 'duplicate_vote': // this approver already voted
    case 'grant_not_allowed': // the rule allows one-time approval only
      return 'conflict';
    case 'self_approval': // who the caller is, not the approval's state, is the problem
      return 'forbidden';
    case 'reason_required':
      return 'invalid_input';
    case 'unavailable': // a shared queue's database is down: try again, or on another gateway
      return 'unavailable';
    default:
      return assertNever(code, 'approval error code');
  }
}
