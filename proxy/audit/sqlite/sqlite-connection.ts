import sqlite3 from 'sqlite3';

// A promise face over the `sqlite3` package (N-API, so one native build serves Node and
// Electron). Each call is one round trip to libuv's thread pool; callers await them in order, so
// no statement of a transaction can overtake another.

export type SqlValue = string | number | bigint | null | Buffer;
export type SqlParams = readonly SqlValue[];

export class SqliteConnection {
  private constructor(
    private readonly db: sqlite3.Database,
    readonly file: string,
  ) {}

  /** Opens `file`; `create` also creates it when missing. Errors keep SQLite's code (`SQLITE_CANTOPEN`, …). */
  static open(file: string, mode: 'readonly' | 'readwrite' | 'create'): Promise<SqliteConnection> {
    const flags =
      mode === 'readonly' ? sqlite3.OPEN_READONLY : mode === 'readwrite' ? sqlite3.OPEN_READWRITE : sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE;
    return new Promise((resolve, reject) => {
      const db: sqlite3.Database = new sqlite3.Database(file, flags, (error) => (error ? reject(error) : resolve(new SqliteConnection(db, file))));
    });
  }

  /** How long a statement waits for another connection's lock before SQLITE_BUSY. */
  busyTimeout(ms: number): void {
    this.db.configure('busyTimeout', ms);
  }

  run(sql: string, params: SqlParams = []): Promise<{ changes: number }> {
    return new Promise((resolve, reject) => {
      this.db.run(sql, params, function (this: sqlite3.RunResult, error: Error | null) {
        if (error) reject(error);
        else resolve({ changes: this.changes });
      });
    });
  }

  all<Row>(sql: string, params: SqlParams = []): Promise<Row[]> {
    return new Promise((resolve, reject) => {
      this.db.all<Row>(sql, params, (error, rows) => (error ? reject(error) : resolve(rows)));
    });
  }

  async get<Row>(sql: string, params: SqlParams = []): Promise<Row | undefined> {
    return (await this.all<Row>(sql, params))[0];
  }

  /** Runs several `;`-separated statements without parameters (migrations). */
  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.db.exec(sql, (error) => (error ? reject(error) : resolve()));
    });
  }

  prepare(sql: string): Promise<PreparedStatement> {
    return new Promise((resolve, reject) => {
      const statement: sqlite3.Statement = this.db.prepare(sql, (error: Error | null) => (error ? reject(error) : resolve(new PreparedStatement(statement))));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.db.close((error) => (error ? reject(error) : resolve()));
    });
  }
}

export class PreparedStatement {
  constructor(private readonly statement: sqlite3.Statement) {}

  run(params: SqlParams): Promise<void> {
    return new Promise((resolve, reject) => {
      this.statement.run(params, (error: Error | null) => (error ? reject(error) : resolve()));
    });
  }

  finalize(): Promise<void> {
    return new Promise((resolve) => {
      // finalize's callback reports nothing useful: the statement is gone either way.
      this.statement.finalize(() => resolve());
    });
  }
}

/** SQLite's error code (`SQLITE_BUSY`, …) when the error came from SQLite. */
export function sqliteCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
