import type { Migration } from '../migrate.js';
import { migration001 } from './001-sessions-and-events.js';
import { migration002 } from './002-hash-chains.js';
import { migration003 } from './003-retention.js';

/** Every migration in order; a store's `user_version` is the last one applied. Never edit a shipped one: add the next. */
export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003];
