import type { PostgresMigration } from '../migrate.js';
import { migration001 } from './001-shared-store.js';

/** Every migration in order; sluice.audit_migrations lists those applied. Never edit a shipped one: add the next. */
export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [migration001];
