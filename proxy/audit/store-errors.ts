// Errors every store kind (SQLite, PostgreSQL) opens with, in a file that loads neither driver.

/** The store was written by a newer Sluice (or is older and cannot be upgraded read-only). */
export class AuditSchemaError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly fileVersion: number,
    readonly knownVersion: number,
  ) {
    super(message);
    this.name = 'AuditSchemaError';
  }
}

/** There is no store at `file`: nothing has written one with this data_dir (or database) yet. */
export class AuditStoreMissingError extends Error {
  constructor(readonly file: string) {
    super(`no audit store at ${file}`);
    this.name = 'AuditStoreMissingError';
  }
}
