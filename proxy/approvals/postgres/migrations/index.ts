import type { ApprovalMigration } from '../approval-migrate.js';
import { migration001 } from './001-approvals.js';

/** Every migration in order. Never edit a shipped one: add the next. */
export const APPROVAL_MIGRATIONS: readonly ApprovalMigration[] = [migration001];
