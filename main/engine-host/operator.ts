import { userInfo } from 'node:os';
import type { RolesConfig } from '../../proxy/api/api-roles.js';
import type { Identity } from '../../proxy/identity/identity.js';

// Who the desktop user is to their own local engine. They run it, own its config file and can
// read its data_dir, so over IPC they are its operator: every role (approvers, auditors, admins).
// Callers of its PostgreSQL and HTTP listeners still authenticate with tokens as usual; this
// identity exists only on IPC and never on the network.

export const OPERATOR_GROUP = 'sluice-desktop-operator';
export const OPERATOR_ISSUER = 'sluice:desktop';

/** The roles config IPC calls are dispatched with: the operator's group holds each role. */
export const OPERATOR_ROLES: RolesConfig = { approvers: [OPERATOR_GROUP], auditors: [OPERATOR_GROUP], admins: [OPERATOR_GROUP] };

/** The OS user, as the subject their votes and saved rules are recorded under. */
export function operatorIdentity(username: string): Identity {
  const name = username.trim() || 'desktop-user';
  return { subject: `desktop:${name}`, issuer: OPERATOR_ISSUER, groups: [OPERATOR_GROUP], claims: {}, method: 'token' };
}

/** The OS user name (userInfo throws where the user has no passwd entry, as in some containers). */
export function osUsername(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'desktop-user';
  }
}
