import { beforeAll, describe, expect, it } from 'vitest';
import type { StatementKind } from '../../../proxy/common/statement-kinds.js';
import { SqlClassifier } from '../../../proxy/sql/sql-classifier.js';
import { loadSqlParser } from '../../../proxy/sql/sql-parser.js';
import type { ClassifyContext, StatementClass, StatementFlag } from '../../../proxy/sql/statement-class.js';

const CTX: ClassifyContext = { searchPath: '"$user", public', user: 'alice' };

interface Row {
  readonly sql: string;
  readonly kind: StatementKind;
  /** Defaults to [kind]. */
  readonly operations?: readonly StatementKind[];
  readonly reads?: readonly string[];
  readonly writes?: readonly string[];
  readonly flags?: readonly StatementFlag[];
  /** Checked only when given. */
  readonly functions?: readonly string[];
  readonly searchPath?: string;
}

// One statement per row: what policy sees of it.
const ROWS: readonly Row[] = [
  // Plain DML.
  { sql: 'SELECT * FROM users WHERE id = 1', kind: 'select', reads: ['public.users'] },
  { sql: 'SELECT 1', kind: 'select' },
  { sql: 'VALUES (1), (2)', kind: 'select' },
  { sql: 'TABLE users', kind: 'select', reads: ['public.users'] },
  { sql: 'SELECT * FROM users FOR UPDATE', kind: 'select', reads: ['public.users'] },
  { sql: 'INSERT INTO users (id) VALUES (1)', kind: 'insert', writes: ['public.users'] },
  { sql: 'INSERT INTO archive SELECT * FROM users', kind: 'insert', operations: ['insert', 'select'], reads: ['public.users'], writes: ['public.archive'] },
  { sql: "INSERT INTO users (id, name) VALUES (1, 'a') ON CONFLICT (id) DO UPDATE SET name = excluded.name", kind: 'insert', operations: ['insert', 'update'], writes: ['public.users'] },
  { sql: 'INSERT INTO users (id) VALUES (1) ON CONFLICT DO NOTHING', kind: 'insert', writes: ['public.users'] },
  { sql: "UPDATE users SET name = 'x' WHERE id = 1", kind: 'update', writes: ['public.users'] },
  { sql: "UPDATE users SET name = 'x'", kind: 'update', writes: ['public.users'], flags: ['no_where'] },
  { sql: 'UPDATE users SET name = NULL WHERE CURRENT OF users_cursor', kind: 'update', writes: ['public.users'] },
  { sql: 'UPDATE accounts a SET balance = 0 FROM blocked b WHERE a.id = b.id', kind: 'update', operations: ['update', 'select'], reads: ['public.blocked'], writes: ['public.accounts'] },
  { sql: "UPDATE users SET tier = 'gold' WHERE id IN (SELECT user_id FROM orders)", kind: 'update', operations: ['update', 'select'], reads: ['public.orders'], writes: ['public.users'] },
  { sql: 'DELETE FROM users WHERE id = 1', kind: 'delete', writes: ['public.users'] },
  { sql: 'DELETE FROM users', kind: 'delete', writes: ['public.users'], flags: ['no_where'] },
  { sql: 'DELETE FROM orders o USING customers c WHERE o.customer_id = c.id AND c.gone', kind: 'delete', operations: ['delete', 'select'], reads: ['public.customers'], writes: ['public.orders'] },
  {
    sql: 'MERGE INTO stock s USING deliveries d ON s.item = d.item WHEN MATCHED THEN UPDATE SET qty = s.qty + d.qty WHEN NOT MATCHED THEN INSERT VALUES (d.item, d.qty)',
    kind: 'merge',
    operations: ['merge', 'update', 'insert', 'select'],
    reads: ['public.deliveries'],
    writes: ['public.stock'],
  },
  { sql: 'MERGE INTO stock s USING gone g ON s.item = g.item WHEN MATCHED THEN DELETE', kind: 'merge', operations: ['merge', 'delete', 'select'], reads: ['public.gone'], writes: ['public.stock'] },
  { sql: 'TRUNCATE users', kind: 'truncate', writes: ['public.users'] },
  { sql: 'TRUNCATE a, audit.log RESTART IDENTITY', kind: 'truncate', writes: ['audit.log', 'public.a'] },

  // Writes inside WITH.
  { sql: 'WITH d AS (DELETE FROM sessions RETURNING *) SELECT count(*) FROM d', kind: 'select', operations: ['select', 'delete'], writes: ['public.sessions'], flags: ['no_where', 'cte_write'] },
  {
    sql: 'WITH moved AS (DELETE FROM queue WHERE done RETURNING *) INSERT INTO archive SELECT * FROM moved',
    kind: 'insert',
    operations: ['insert', 'delete', 'select'],
    writes: ['public.archive', 'public.queue'],
    flags: ['cte_write'],
  },
  { sql: 'WITH u AS (UPDATE accounts SET frozen = true WHERE id = 7 RETURNING id) SELECT * FROM u', kind: 'select', operations: ['select', 'update'], writes: ['public.accounts'], flags: ['cte_write'] },
  { sql: 'WITH i AS (INSERT INTO log (msg) VALUES ($1) RETURNING id) SELECT id FROM i', kind: 'select', operations: ['select', 'insert'], writes: ['public.log'], flags: ['cte_write'] },
  { sql: 'WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 5) SELECT * FROM r', kind: 'select' },

  // CTE names are not relations; a CTE's body sees only earlier CTEs.
  { sql: 'WITH recent AS (SELECT * FROM orders) SELECT * FROM recent JOIN customers ON true', kind: 'select', reads: ['public.customers', 'public.orders'] },
  { sql: 'WITH t AS (SELECT * FROM t) SELECT * FROM t', kind: 'select', reads: ['public.t'] },
  { sql: 'WITH x AS (SELECT 1) SELECT * FROM public.x, x', kind: 'select', reads: ['public.x'] },

  // SELECT INTO and CREATE TABLE AS create tables.
  { sql: 'SELECT * INTO backup FROM users', kind: 'select', operations: ['select', 'ddl'], reads: ['public.users'], writes: ['public.backup'], flags: ['select_into'] },
  { sql: 'CREATE TABLE backup AS SELECT * FROM users', kind: 'ddl', operations: ['ddl', 'select'], reads: ['public.users'], writes: ['public.backup'] },
  { sql: 'CREATE MATERIALIZED VIEW totals AS SELECT sum(amount) FROM orders', kind: 'ddl', operations: ['ddl', 'select'], reads: ['public.orders'], writes: ['public.totals'] },
  { sql: 'CREATE VIEW active AS SELECT * FROM users WHERE active', kind: 'ddl', reads: ['public.users'], writes: ['public.active'] },
  { sql: 'CREATE TEMP TABLE scratch (a int)', kind: 'ddl', writes: ['pg_temp.scratch'] },

  // EXPLAIN plans; EXPLAIN ANALYZE runs.
  { sql: 'EXPLAIN SELECT * FROM users', kind: 'explain', reads: ['public.users'] },
  { sql: 'EXPLAIN DELETE FROM users', kind: 'explain', reads: ['public.users'] },
  { sql: 'EXPLAIN ANALYZE DELETE FROM users', kind: 'delete', writes: ['public.users'], flags: ['no_where', 'explain_analyze'] },
  { sql: 'EXPLAIN (ANALYZE false) DELETE FROM users', kind: 'explain', reads: ['public.users'] },
  { sql: 'EXPLAIN (ANALYZE off, COSTS) UPDATE users SET a = 1', kind: 'explain', reads: ['public.users'] },
  { sql: 'EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM users', kind: 'select', reads: ['public.users'], flags: ['explain_analyze'] },
  { sql: 'EXPLAIN (ANALYZE 1) INSERT INTO t SELECT * FROM u', kind: 'insert', operations: ['insert', 'select'], reads: ['public.u'], writes: ['public.t'], flags: ['explain_analyze'] },
  { sql: "EXPLAIN SELECT pg_read_file('/etc/passwd')", kind: 'explain', flags: ['dangerous_function', 'unknown_function'] },

  // Prepared statements (EXECUTE with a known PREPARE is tested below).
  { sql: 'PREPARE del(int) AS DELETE FROM users WHERE id = $1', kind: 'prepare' },
  { sql: 'EXECUTE del(1)', kind: 'prepare' },
  { sql: 'DEALLOCATE del', kind: 'prepare' },
  { sql: 'DEALLOCATE ALL', kind: 'prepare' },

  // Functions.
  { sql: 'SELECT my_fn()', kind: 'select', flags: ['unknown_function'], functions: ['my_fn'] },
  { sql: 'SELECT public.do_things(1)', kind: 'select', flags: ['unknown_function'], functions: ['public.do_things'] },
  { sql: "SELECT pg_read_file('/etc/passwd')", kind: 'select', flags: ['dangerous_function', 'unknown_function'], functions: ['pg_read_file'] },
  { sql: "SELECT pg_catalog.pg_read_file('/etc/passwd')", kind: 'select', flags: ['dangerous_function', 'unknown_function'], functions: ['pg_catalog.pg_read_file'] },
  { sql: "SELECT dblink_exec('host=evil', 'DROP TABLE users')", kind: 'select', flags: ['dangerous_function', 'unknown_function'], functions: ['dblink_exec'] },
  { sql: "SELECT * FROM ext.dblink('host=evil', 'SELECT 1') AS t(a int)", kind: 'select', flags: ['dangerous_function', 'unknown_function'], functions: ['ext.dblink'] },
  { sql: "SELECT set_config('role', 'admin', false)", kind: 'select', flags: ['dangerous_function', 'unknown_function'], functions: ['set_config'] },
  { sql: "SELECT lo_import('/etc/passwd')", kind: 'select', flags: ['dangerous_function', 'unknown_function'], functions: ['lo_import'] },
  { sql: "SELECT nextval('orders_id_seq')", kind: 'select', flags: ['unknown_function'], functions: ['nextval'] },
  {
    sql: 'SELECT count(*), max(amount), lower(name), now() FROM orders GROUP BY name',
    kind: 'select',
    reads: ['public.orders'],
    functions: ['count', 'lower', 'max', 'now'],
  },
  {
    sql: 'SELECT trim(name), substring(name from 2), extract(year from now()) FROM users',
    kind: 'select',
    reads: ['public.users'],
    functions: ['now', 'pg_catalog.btrim', 'pg_catalog.extract', 'pg_catalog.substring'],
  },
  { sql: 'SELECT g, row_number() OVER (ORDER BY g) FROM generate_series(1, 10) g', kind: 'select', functions: ['generate_series', 'row_number'] },
  { sql: 'SELECT * FROM users WHERE id = (SELECT my_fn())', kind: 'select', reads: ['public.users'], flags: ['unknown_function'] },

  // COPY.
  { sql: 'COPY users TO STDOUT', kind: 'copy_out', reads: ['public.users'] },
  { sql: 'COPY users (id, name) FROM STDIN', kind: 'copy_in', writes: ['public.users'] },
  { sql: 'COPY (SELECT id FROM users WHERE active) TO STDOUT WITH (FORMAT csv)', kind: 'copy_out', operations: ['copy_out', 'select'], reads: ['public.users'] },
  { sql: "COPY users TO PROGRAM 'gzip > /tmp/users.gz'", kind: 'copy_out', reads: ['public.users'], flags: ['copy_program'] },
  { sql: "COPY users FROM '/tmp/users.csv'", kind: 'copy_in', writes: ['public.users'], flags: ['copy_program'] },
  { sql: 'COPY (DELETE FROM users RETURNING *) TO STDOUT', kind: 'copy_out', operations: ['copy_out', 'delete'], writes: ['public.users'], flags: ['no_where'] },

  // Privileges and roles.
  { sql: 'GRANT SELECT ON users TO analyst', kind: 'grant', writes: ['public.users'] },
  { sql: 'REVOKE ALL ON TABLE users, audit.log FROM PUBLIC', kind: 'grant', writes: ['audit.log', 'public.users'] },
  { sql: 'GRANT admin TO bob', kind: 'grant' },
  { sql: 'CREATE ROLE deployer LOGIN', kind: 'grant' },
  { sql: 'ALTER ROLE deployer SUPERUSER', kind: 'grant' },
  { sql: 'DROP ROLE deployer', kind: 'grant' },

  // Settings.
  { sql: 'SET ROLE admin', kind: 'set', flags: ['set_role'] },
  { sql: 'SET LOCAL ROLE admin', kind: 'set', flags: ['set_role'] },
  { sql: 'SET SESSION AUTHORIZATION admin', kind: 'set', flags: ['set_role'] },
  { sql: 'RESET ROLE', kind: 'set', flags: ['set_role'] },
  { sql: 'SET search_path = app, public', kind: 'set' },
  { sql: 'SET statement_timeout TO 5000', kind: 'set' },
  { sql: 'SHOW search_path', kind: 'set' },
  { sql: 'RESET ALL', kind: 'set' },
  { sql: 'DISCARD ALL', kind: 'utility', flags: ['set_role'] },
  { sql: "ALTER SYSTEM SET work_mem = '64MB'", kind: 'ddl' },

  // Transactions.
  { sql: 'BEGIN', kind: 'transaction' },
  { sql: 'START TRANSACTION ISOLATION LEVEL SERIALIZABLE', kind: 'transaction' },
  { sql: 'COMMIT', kind: 'transaction' },
  { sql: 'ROLLBACK', kind: 'transaction' },
  { sql: 'SAVEPOINT before_import', kind: 'transaction' },
  { sql: 'ROLLBACK TO SAVEPOINT before_import', kind: 'transaction' },

  // Procedures and anonymous blocks.
  { sql: 'CALL refresh_totals()', kind: 'call', flags: ['unknown_function'], functions: ['refresh_totals'] },
  { sql: 'DO $$ BEGIN DELETE FROM users; END $$', kind: 'call', flags: ['unknown_function'] },

  // Utility.
  { sql: 'VACUUM', kind: 'utility' },
  { sql: 'VACUUM (FULL, ANALYZE) users', kind: 'utility', writes: ['public.users'] },
  { sql: 'ANALYZE users', kind: 'utility', writes: ['public.users'] },
  { sql: 'REINDEX TABLE users', kind: 'utility', writes: ['public.users'] },
  { sql: 'CLUSTER users USING users_pkey', kind: 'utility', writes: ['public.users'] },
  { sql: 'REFRESH MATERIALIZED VIEW totals', kind: 'utility', writes: ['public.totals'] },
  { sql: 'LOCK TABLE users IN ACCESS EXCLUSIVE MODE', kind: 'utility', reads: ['public.users'] },
  { sql: 'LISTEN jobs', kind: 'utility' },
  { sql: "NOTIFY jobs, 'ready'", kind: 'utility' },
  { sql: 'CHECKPOINT', kind: 'utility' },
  { sql: 'DECLARE c CURSOR FOR SELECT * FROM users', kind: 'select', reads: ['public.users'] },
  { sql: 'FETCH 10 FROM c', kind: 'utility' },
  { sql: 'CLOSE c', kind: 'utility' },
  { sql: "LOAD 'auto_explain'", kind: 'utility', flags: ['unknown_function'] },

  // Names: quoting, qualification, search_path.
  { sql: 'SELECT * FROM "My Schema"."Odd Table"', kind: 'select', reads: ['My Schema.Odd Table'] },
  { sql: 'SELECT * FROM "Users" JOIN users ON true', kind: 'select', reads: ['public.Users', 'public.users'] },
  { sql: 'SELECT * FROM USERS', kind: 'select', reads: ['public.users'] },
  { sql: 'SELECT * FROM shop.sales.orders', kind: 'select', reads: ['sales.orders'] },
  { sql: 'SELECT * FROM t', kind: 'select', reads: ['public.t'], searchPath: '"$user", public' },
  { sql: 'SELECT * FROM t', kind: 'select', reads: ['app.t'], searchPath: 'app, public' },
  { sql: 'SELECT * FROM t', kind: 'select', reads: ['My App.t'], searchPath: '"My App", public' },
  { sql: 'SELECT * FROM t', kind: 'select', reads: ['alice.t'], searchPath: '"$user"' },
  { sql: 'SELECT * FROM t', kind: 'select', reads: ['app.t'], searchPath: 'pg_catalog, "$user", app' },
  { sql: 'SELECT * FROM sales.orders', kind: 'select', reads: ['sales.orders'], searchPath: 'app, public' },
  { sql: 'SELECT * FROM pg_settings', kind: 'select', reads: ['pg_catalog.pg_settings'], searchPath: 'app' },
  { sql: 'SELECT * FROM pg_stat_activity', kind: 'select', reads: ['pg_catalog.pg_stat_activity'] },
  { sql: 'SELECT * FROM pg_temp.scratch', kind: 'select', reads: ['pg_temp.scratch'] },

  // Joins and subqueries.
  {
    sql: 'SELECT o.id FROM orders o JOIN customers c ON c.id = o.customer_id LEFT JOIN regions r ON r.id = c.region_id',
    kind: 'select',
    reads: ['public.customers', 'public.orders', 'public.regions'],
  },
  { sql: 'SELECT * FROM users WHERE id IN (SELECT user_id FROM banned)', kind: 'select', reads: ['public.banned', 'public.users'] },
  { sql: 'SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)', kind: 'select', reads: ['public.orders', 'public.users'] },
  { sql: 'SELECT (SELECT max(total) FROM orders), s.* FROM (SELECT * FROM users) s', kind: 'select', reads: ['public.orders', 'public.users'] },
  { sql: 'SELECT a FROM t1 UNION SELECT a FROM t2 EXCEPT SELECT a FROM t3', kind: 'select', reads: ['public.t1', 'public.t2', 'public.t3'] },
  { sql: 'SELECT * FROM users u, LATERAL (SELECT * FROM orders o WHERE o.user_id = u.id) x', kind: 'select', reads: ['public.orders', 'public.users'] },

  // DDL.
  { sql: 'DROP TABLE a, b', kind: 'ddl', writes: ['public.a', 'public.b'] },
  { sql: 'DROP TABLE IF EXISTS audit.log CASCADE', kind: 'ddl', writes: ['audit.log'] },
  { sql: 'DROP VIEW reports.monthly', kind: 'ddl', writes: ['reports.monthly'] },
  { sql: 'DROP TRIGGER audit_trg ON users', kind: 'ddl', writes: ['public.users'] },
  { sql: 'CREATE INDEX users_email ON users (email)', kind: 'ddl', writes: ['public.users'] },
  { sql: 'CREATE UNIQUE INDEX CONCURRENTLY ON sales.orders (id)', kind: 'ddl', writes: ['sales.orders'] },
  { sql: 'CREATE TABLE events (id bigint PRIMARY KEY, body jsonb)', kind: 'ddl', writes: ['public.events'] },
  { sql: 'CREATE TABLE copy_of (LIKE users, owner int REFERENCES owners (id))', kind: 'ddl', reads: ['public.owners', 'public.users'], writes: ['public.copy_of'] },
  { sql: 'ALTER TABLE users ADD COLUMN age int', kind: 'ddl', writes: ['public.users'] },
  { sql: 'ALTER TABLE orders ADD CONSTRAINT orders_user FOREIGN KEY (user_id) REFERENCES users (id)', kind: 'ddl', reads: ['public.users'], writes: ['public.orders'] },
  { sql: 'ALTER TABLE staging RENAME TO live', kind: 'ddl', writes: ['public.live', 'public.staging'] },
  { sql: 'ALTER TABLE old SET SCHEMA archive', kind: 'ddl', writes: ['archive.old', 'public.old'] },
  { sql: "COMMENT ON TABLE users IS 'people'", kind: 'ddl', writes: ['public.users'] },
  { sql: 'CREATE SCHEMA app', kind: 'ddl' },
  { sql: 'DROP FUNCTION cleanup()', kind: 'ddl' },
  { sql: "CREATE FUNCTION one() RETURNS int LANGUAGE sql AS 'SELECT 1'", kind: 'ddl' },
  { sql: 'CREATE RULE r AS ON INSERT TO t DO INSTEAD DELETE FROM u', kind: 'ddl', operations: ['ddl', 'delete'], writes: ['public.t', 'public.u'], flags: ['no_where'] },
  { sql: 'CREATE EXTENSION dblink', kind: 'ddl' },
];

let classifier: SqlClassifier;

beforeAll(async () => {
  await loadSqlParser();
  classifier = new SqlClassifier();
});

function only(sql: string, ctx: ClassifyContext = CTX): StatementClass {
  const result = classifier.classify(sql, ctx);
  if (!result.ok) throw new Error(`expected ${sql} to parse: ${result.error}`);
  expect(result.statements).toHaveLength(1);
  return result.statements[0]!;
}

describe('SQL statement classification', () => {
  it('has a table of at least 70 statements', () => {
    expect(ROWS.length).toBeGreaterThanOrEqual(70);
  });

  it.each(ROWS.map((row) => [`${row.sql}${row.searchPath === undefined ? '' : ` (search_path ${row.searchPath})`} → ${row.kind}`, row] as const))(
    'classifies %s',
    (_name, row) => {
      const statement = only(row.sql, row.searchPath === undefined ? CTX : { ...CTX, searchPath: row.searchPath });
      expect({
        kind: statement.kind,
        operations: statement.operations,
        reads: statement.reads,
        writes: statement.writes,
        flags: statement.flags,
      }).toEqual({
        kind: row.kind,
        operations: row.operations ?? [row.kind],
        reads: row.reads ?? [],
        writes: row.writes ?? [],
        flags: row.flags ?? [],
      });
      if (row.functions) expect(statement.functions).toEqual(row.functions);
      expect(statement.text).toBe(row.sql);
    },
  );
});

describe('statements of one message', () => {
  it('splits a multi-statement string into statements with their own text', () => {
    const result = classifier.classify('SELECT 1; INSERT INTO t VALUES (1);\n  DELETE FROM t WHERE a = 2 ;', CTX);
    expect(result.ok && result.statements.map((statement) => [statement.text, statement.kind])).toEqual([
      ['SELECT 1', 'select'],
      ['INSERT INTO t VALUES (1)', 'insert'],
      ['DELETE FROM t WHERE a = 2', 'delete'],
    ]);
  });

  it('cuts statement texts at byte offsets when the text is not ASCII', () => {
    const result = classifier.classify("SELECT 'é✓'; DELETE FROM t", CTX);
    expect(result.ok && result.statements.map((statement) => statement.text)).toEqual(["SELECT 'é✓'", 'DELETE FROM t']);
    const three = classifier.classify("SELECT '日本語' AS \"列\";INSERT INTO \"テーブル\" VALUES ('ü');  SELECT 2", CTX);
    expect(three.ok && three.statements.map((statement) => statement.text)).toEqual(["SELECT '日本語' AS \"列\"", "INSERT INTO \"テーブル\" VALUES ('ü')", 'SELECT 2']);
    expect(three.ok && three.statements[1]!.writes).toEqual(['public.テーブル']);
  });

  it('leaves comments between statements out of their texts', () => {
    const result = classifier.classify('-- first\nSELECT 1; /* second */ SELECT 2', CTX);
    expect(result.ok && result.statements.map((statement) => statement.text)).toEqual(['SELECT 1', 'SELECT 2']);
  });

  it('gives zero statements for empty text, whitespace, comments and bare semicolons', () => {
    for (const text of ['', '   \n\t', '-- nothing', '/* nothing */', ';;', ' ; -- x\n ;']) {
      expect(classifier.classify(text, CTX)).toEqual({ ok: true, statements: [] });
    }
  });

  it('reports the parser error with its 1-based position, and classifies nothing', () => {
    expect(classifier.classify('SELECT * FRM users', CTX)).toEqual({ ok: false, error: 'syntax error at or near "FRM" (position 10)' });
    // Positions count characters, as PostgreSQL reports them.
    expect(classifier.classify("SELECT 'é✓' FRM t", CTX)).toEqual({ ok: false, error: 'syntax error at or near "t" (position 17)' });
    // One bad statement refuses the whole message.
    expect(classifier.classify('SELECT 1; DELET FROM t', CTX).ok).toBe(false);
  });

  it('fails closed on a statement nested too deeply to classify', () => {
    const result = classifier.classify(`SELECT 1${' + 1'.repeat(50_000)}`, CTX);
    expect(result.ok).toBe(false);
  });

  it('classifies a long left-deep expression without running out of stack', () => {
    const statement = only(`SELECT my_fn(1)${' || my_fn(1)'.repeat(3_000)} FROM t`);
    expect(statement.flags).toEqual(['unknown_function']);
    expect(statement.reads).toEqual(['public.t']);
  });
});

describe('prepared statements', () => {
  const prepare = 'PREPARE del(int) AS DELETE FROM users WHERE id = $1';

  it('classifies what PREPARE prepares, with its own text', () => {
    const statement = only(prepare);
    expect(statement.prepares?.name).toBe('del');
    expect(statement.prepares?.statement).toMatchObject({ text: 'DELETE FROM users WHERE id = $1', kind: 'delete', writes: ['public.users'], flags: [] });
    expect(only("PREPARE q AS SELECT 'é' FROM t").prepares?.statement.text).toBe("SELECT 'é' FROM t");
  });

  it('classifies EXECUTE by the session prepared statement it runs', () => {
    const prepared = new Map([['del', only(prepare).prepares!.statement]]);
    const statement = only('EXECUTE del(42)', { ...CTX, prepared });
    expect(statement).toMatchObject({ text: 'EXECUTE del(42)', kind: 'delete', operations: ['delete'], writes: ['public.users'], flags: [] });
    expect(statement.executes).toBeUndefined();
  });

  it('leaves an EXECUTE of an unknown name for the session to resolve or deny', () => {
    const statement = only('EXECUTE del(42)');
    expect(statement).toMatchObject({ kind: 'prepare', operations: ['prepare'], executes: 'del' });
    // The cached result must not outlive what the session knows.
    const prepared = new Map([['del', only(prepare).prepares!.statement]]);
    expect(only('EXECUTE del(42)', { ...CTX, prepared }).kind).toBe('delete');
    expect(only('EXECUTE del(42)').executes).toBe('del');
  });

  it('checks the parameters of EXECUTE for function calls', () => {
    const prepared = new Map([['del', only(prepare).prepares!.statement]]);
    expect(only("EXECUTE del(pg_read_file('/etc/passwd')::int)", { ...CTX, prepared }).flags).toEqual(['dangerous_function', 'unknown_function']);
  });

  it('resolves EXECUTE against a PREPARE earlier in the same message', () => {
    const result = classifier.classify(`${prepare}; EXECUTE del(1); DEALLOCATE del; EXECUTE del(2)`, CTX);
    if (!result.ok) throw new Error(result.error);
    expect(result.statements.map((statement) => [statement.kind, statement.executes])).toEqual([
      ['prepare', undefined],
      ['delete', undefined],
      ['prepare', undefined],
      ['prepare', 'del'],
    ]);
  });

  it('classifies statements that run a prepared statement inside them', () => {
    const prepared = new Map([['sel', only('PREPARE sel AS SELECT * FROM users').prepares!.statement]]);
    expect(only('CREATE TABLE snapshot AS EXECUTE sel', { ...CTX, prepared })).toMatchObject({
      kind: 'ddl',
      operations: ['ddl', 'select'],
      reads: ['public.users'],
      writes: ['public.snapshot'],
    });
    expect(only('CREATE TABLE snapshot AS EXECUTE sel').executes).toBe('sel');
    expect(only('EXPLAIN ANALYZE EXECUTE sel', { ...CTX, prepared })).toMatchObject({ kind: 'select', reads: ['public.users'], flags: ['explain_analyze'] });
  });

  it('reports DEALLOCATE with its name, and DEALLOCATE ALL and DISCARD ALL without one', () => {
    expect(only('DEALLOCATE del').deallocates).toEqual({ name: 'del' });
    expect(only('DEALLOCATE ALL').deallocates).toEqual({});
    expect(only('DISCARD ALL').deallocates).toEqual({});
    expect(only('DISCARD PLANS').deallocates).toBeUndefined();
  });
});

describe('dangerous functions from configuration', () => {
  it('replaces the default list; entries may be schema-qualified or prefixes', async () => {
    const custom = new SqlClassifier({ dangerousFunctions: ['app.purge', 'wipe_*', 'ops.drop_*'] });
    const flags = (sql: string) => {
      const result = custom.classify(sql, CTX);
      return result.ok ? result.statements[0]!.flags : [];
    };
    expect(flags('SELECT app.purge()')).toContain('dangerous_function');
    expect(flags('SELECT purge()')).toContain('dangerous_function'); // may resolve to app.purge
    expect(flags('SELECT other.purge()')).not.toContain('dangerous_function');
    expect(flags('SELECT wipe_everything()')).toContain('dangerous_function');
    expect(flags('SELECT ops.drop_all()')).toContain('dangerous_function');
    expect(flags('SELECT drop_all()')).toContain('dangerous_function');
    expect(flags("SELECT pg_read_file('x')")).toEqual(['unknown_function']);
  });
});

describe('full scans of listed tables', () => {
  const scans = new SqlClassifier({ fullScanTables: ['public.users', 'billing.*'] });
  const flagged = (sql: string) => {
    const result = scans.classify(sql, CTX);
    return result.ok && result.statements.some((statement) => statement.flags.includes('full_scan'));
  };

  it('flags a SELECT without WHERE or LIMIT on a listed table, through joins and subqueries', () => {
    expect(flagged('SELECT * FROM users')).toBe(true);
    expect(flagged('SELECT u.email FROM orders o JOIN users u ON u.id = o.user_id')).toBe(true);
    expect(flagged('SELECT * FROM billing.invoices')).toBe(true);
    expect(flagged('SELECT count(*) FROM (SELECT * FROM public.Users) s WHERE true')).toBe(true);
    expect(flagged('COPY (SELECT * FROM users) TO STDOUT')).toBe(true);
  });

  it('does not flag bounded reads, other tables or a CTE named like a listed table', () => {
    expect(flagged('SELECT * FROM users WHERE id = 1')).toBe(false);
    expect(flagged('SELECT * FROM users LIMIT 10')).toBe(false);
    expect(flagged('SELECT * FROM orders')).toBe(false);
    expect(flagged('WITH users AS (SELECT 1 AS id) SELECT * FROM users')).toBe(false);
    expect(new SqlClassifier().classify('SELECT * FROM users', CTX)).toMatchObject({ ok: true, statements: [{ flags: [] }] });
  });
});

describe('classification cache', () => {
  it('returns the same frozen result for the same text', () => {
    const first = classifier.classify('SELECT * FROM cached_table', CTX);
    const second = classifier.classify('SELECT * FROM cached_table', CTX);
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    if (first.ok) {
      expect(Object.isFrozen(first.statements[0])).toBe(true);
      expect(Object.isFrozen(first.statements[0]!.reads)).toBe(true);
    }
  });

  it('resolves the same text again under a different search_path', () => {
    const text = 'SELECT * FROM path_dependent';
    expect(only(text).reads).toEqual(['public.path_dependent']);
    expect(only(text, { ...CTX, searchPath: 'tenant_7' }).reads).toEqual(['tenant_7.path_dependent']);
    expect(only(text).reads).toEqual(['public.path_dependent']);
  });

  it('answers a statement that differs only in constants from its shape, with its own text', () => {
    const fresh = new SqlClassifier();
    const first = fresh.classify('SELECT abalance FROM pgbench_accounts WHERE aid = 4711;', CTX);
    const second = fresh.classify('SELECT abalance FROM pgbench_accounts WHERE aid = 93;', CTX);
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.statements[0]).toEqual({ ...first.statements[0], text: 'SELECT abalance FROM pgbench_accounts WHERE aid = 93' });
    // The shape is per search_path too.
    const other = fresh.classify('SELECT abalance FROM pgbench_accounts WHERE aid = 5;', { ...CTX, searchPath: 'bench' });
    expect(other.ok && other.statements[0]!.reads).toEqual(['bench.pgbench_accounts']);
  });

  it('keeps statements apart whose options are not constants to the normalizer', () => {
    const fresh = new SqlClassifier();
    expect(fresh.classify('EXPLAIN (ANALYZE false) DELETE FROM t WHERE a = 1', CTX)).toMatchObject({ ok: true, statements: [{ kind: 'explain' }] });
    expect(fresh.classify('EXPLAIN (ANALYZE true) DELETE FROM t WHERE a = 2', CTX)).toMatchObject({ ok: true, statements: [{ kind: 'delete' }] });
    expect(fresh.classify("COPY t TO PROGRAM 'cat'", CTX)).toMatchObject({ ok: true, statements: [{ flags: ['copy_program'] }] });
  });

  it('stays bounded', () => {
    const small = new SqlClassifier({ cacheSize: 2 });
    const a = small.classify('SELECT * FROM a', CTX);
    small.classify('SELECT * FROM b', CTX);
    expect(small.classify('SELECT * FROM a', CTX)).toBe(a);
    small.classify('SELECT * FROM c', CTX);
    small.classify('SELECT * FROM d', CTX);
    expect(small.classify('SELECT * FROM a', CTX)).not.toBe(a);
  });

  it('does not let large statements pin memory', () => {
    const small = new SqlClassifier({ cacheChars: 64 * 1024 });
    const bulk = `INSERT INTO t VALUES ${Array.from({ length: 2_000 }, (_, index) => `(${index})`).join(', ')}`;
    const first = small.classify(bulk, CTX);
    expect(first.ok && first.statements[0]!.writes).toEqual(['public.t']);
    expect(small.classify(bulk, CTX)).not.toBe(first);
    const short = small.classify('SELECT 1', CTX);
    expect(small.classify('SELECT 1', CTX)).toBe(short);
  });
});

describe('fingerprints', () => {
  it('are equal for statements that differ only in constants', () => {
    expect(classifier.fingerprint('DELETE FROM users WHERE id = 1')).toBe(classifier.fingerprint('DELETE FROM users WHERE id = 2'));
    expect(classifier.fingerprint('DELETE FROM users WHERE id = 1')).not.toBe(classifier.fingerprint('DELETE FROM orders WHERE id = 1'));
  });

  it('hash the exact text of what does not parse, so it only matches itself', () => {
    expect(classifier.fingerprint('DELET FROM users')).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(classifier.fingerprint('DELET FROM users')).not.toBe(classifier.fingerprint('DELET FROM orders'));
  });
});
