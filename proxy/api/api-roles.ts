import type { Config } from '../config/schema.js';
import type { Identity } from '../identity/identity.js';

/** The parts of the engine API a caller may use; config `roles` names the groups holding each. */
export type ApiRole = 'approvers' | 'auditors' | 'admins';

export const API_ROLES: readonly ApiRole[] = ['approvers', 'auditors', 'admins'];

export type RolesConfig = Config['roles'];

/** The roles whose groups the identity is in (groups intersect `roles[role]`). */
export function rolesOf(identity: Pick<Identity, 'groups'>, roles: RolesConfig): ReadonlySet<ApiRole> {
  const groups = new Set(identity.groups);
  return new Set(API_ROLES.filter((role) => roles[role].some((group) => groups.has(group))));
}
