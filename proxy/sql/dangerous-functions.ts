/**
 * Functions that read or write outside the database's tables, end other sessions or change
 * settings behind policy's back. Config `sql.dangerous_functions` replaces this list; entries
 * are lower-case names, optionally schema-qualified, and may end in `*` (prefix match).
 */
export const DEFAULT_DANGEROUS_FUNCTIONS: readonly string[] = [
  'pg_read_file',
  'pg_read_binary_file',
  'pg_ls_dir',
  'pg_stat_file',
  'pg_ls_logdir',
  'pg_ls_waldir',
  'pg_ls_tmpdir',
  'pg_ls_archive_statusdir',
  'lo_export',
  'lo_import',
  'lo_from_bytea',
  'lo_put',
  'dblink*',
  'pg_terminate_backend',
  'pg_cancel_backend',
  'pg_reload_conf',
  'pg_rotate_logfile',
  'pg_promote',
  'set_config',
  'pg_file_write',
  'pg_file_rename',
  'pg_file_unlink',
  'pg_logdir_ls',
  'pg_switch_wal',
  'pg_create_restore_point',
  'pg_advisory_lock',
  'pg_sleep',
  'query_to_xml',
  'table_to_xml',
  'cursor_to_xml',
];
