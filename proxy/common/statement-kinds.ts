/**
 * The operation kinds policy rules can match. SQL classification (proxy/sql) maps every
 * statement to one of these; config validation uses the same list so a typo is caught at load.
 */
export const STATEMENT_KINDS = [
  'select',
  'insert',
  'update',
  'delete',
  'merge',
  'truncate',
  'ddl',
  'copy_in',
  'copy_out',
  'grant',
  'set',
  'transaction',
  'call',
  'prepare',
  'explain',
  'utility',
] as const;

export type StatementKind = (typeof STATEMENT_KINDS)[number];
