import type { StatementKind } from '../common/statement-kinds.js';

/**
 * The kind of each top-level statement node that is not DDL. Anything not listed, including
 * node types added by a future PostgreSQL, is `ddl`: the strictest kind is the safe default.
 * Statements handled by the classifier itself (EXPLAIN, PREPARE/EXECUTE, COPY, DECLARE
 * CURSOR) are listed for completeness.
 */
const KINDS: Readonly<Record<string, StatementKind>> = {
  SelectStmt: 'select',
  InsertStmt: 'insert',
  UpdateStmt: 'update',
  DeleteStmt: 'delete',
  MergeStmt: 'merge',
  TruncateStmt: 'truncate',
  // Privileges and roles. Creating or altering a role changes who may do what, which is what
  // a reviewer of `grant` looks at; as `ddl` it would hide among schema changes.
  GrantStmt: 'grant',
  GrantRoleStmt: 'grant',
  AlterDefaultPrivilegesStmt: 'grant',
  CreateRoleStmt: 'grant',
  AlterRoleStmt: 'grant',
  AlterRoleSetStmt: 'grant',
  DropRoleStmt: 'grant',
  // Session settings. ALTER SYSTEM / ALTER DATABASE SET change the server, not the session:
  // they stay `ddl`.
  VariableSetStmt: 'set',
  VariableShowStmt: 'set',
  ConstraintsSetStmt: 'set',
  TransactionStmt: 'transaction',
  CallStmt: 'call',
  DoStmt: 'call',
  PrepareStmt: 'prepare',
  ExecuteStmt: 'prepare',
  DeallocateStmt: 'prepare',
  ExplainStmt: 'explain',
  // Maintenance, cursors, notifications and session housekeeping.
  VacuumStmt: 'utility',
  ClusterStmt: 'utility',
  ReindexStmt: 'utility',
  RefreshMatViewStmt: 'utility',
  CheckPointStmt: 'utility',
  LockStmt: 'utility',
  ListenStmt: 'utility',
  UnlistenStmt: 'utility',
  NotifyStmt: 'utility',
  DiscardStmt: 'utility',
  FetchStmt: 'utility',
  ClosePortalStmt: 'utility',
  LoadStmt: 'utility',
};

export function kindOfNode(type: string): StatementKind {
  return KINDS[type] ?? 'ddl';
}

/**
 * Statements whose RangeVars are changed rather than read: DDL, GRANT (ACLs), TRUNCATE, and
 * maintenance that rewrites or locks a relation's storage (VACUUM FULL, CLUSTER, REINDEX,
 * REFRESH MATERIALIZED VIEW). Queries nested inside any of them are reads.
 */
export function changesNamedRelations(type: string, kind: StatementKind): boolean {
  if (kind === 'ddl' || kind === 'grant' || kind === 'truncate') return true;
  return type === 'VacuumStmt' || type === 'ClusterStmt' || type === 'ReindexStmt' || type === 'RefreshMatViewStmt';
}
