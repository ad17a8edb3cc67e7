import { beforeAll, describe, expect, it } from 'vitest';
import { maskedFlows, relationsNamed } from '../../../proxy/sql/masked-flow.js';
import type { FlowRoute, MaskedFlow, MaskedRelation, MaskedSchema } from '../../../proxy/sql/masked-flow-types.js';
import type { PgNode } from '../../../proxy/sql/parse-tree.js';
import { relationNamesFor } from '../../../proxy/sql/search-path.js';
import { loadSqlParser, parseStatements } from '../../../proxy/sql/sql-parser.js';

const NAMES = relationNamesFor('"$user", public', 'app');

const RELATIONS: Readonly<Record<string, MaskedRelation>> = {
  'public.users': { columns: ['id', 'email', 'ssn', 'name'], masked: new Map([['email', 'emails'], ['ssn', 'ssn']]) },
  'public.orders': { columns: ['id', 'user_id', 'total'], masked: new Map() },
  // A view whose `le` reads users.email.
  'public.user_emails': { columns: ['uid', 'le'], masked: new Map([['le', 'emails']]) },
};

const SCHEMA: MaskedSchema = { relation: (name) => RELATIONS[name], ruleIdentifiers: new Map([['ssn', 'ssn'], ['email', 'emails'], ['secrets', 'secret-tables']]) };

function parseOne(sql: string): { node: PgNode; text: string } {
  const parsed = parseStatements(sql);
  if (!parsed.ok) throw new Error(`test SQL does not parse: ${parsed.error}`);
  expect(parsed.statements).toHaveLength(1);
  return parsed.statements[0]!;
}

function flows(sql: string): MaskedFlow[] {
  const { node, text } = parseOne(sql);
  return maskedFlows(node, text, NAMES, SCHEMA);
}

function routes(sql: string): FlowRoute[] {
  return [...new Set(flows(sql).map((flow) => flow.route))].sort();
}

beforeAll(async () => {
  await loadSqlParser();
});

// Statements whose masked values stay where result masking follows them (or go nowhere).
const NO_FLOW: readonly string[] = [
  'SELECT ssn FROM users',
  'SELECT id, email, ssn, name FROM users',
  'SELECT * FROM users',
  'SELECT u.* FROM users u',
  'SELECT u FROM users u',
  'SELECT (ssn) AS s FROM users',
  'TABLE users',
  'SELECT u.ssn, o.total FROM users u JOIN orders o ON o.user_id = u.id',
  'SELECT ssn FROM users LEFT JOIN orders USING (id)',
  "SELECT name FROM users WHERE ssn LIKE '1%' ORDER BY email",
  'SELECT ssn, count(*) FROM users GROUP BY ssn HAVING count(*) > 1',
  'SELECT ssn FROM users GROUP BY ROLLUP (ssn)',
  'SELECT DISTINCT ssn FROM users',
  'SELECT DISTINCT ON (email) email, ssn FROM users ORDER BY email, ssn LIMIT 5',
  'SELECT count(ssn), count(DISTINCT email), count(*) FROM users',
  'SELECT row_number() OVER (PARTITION BY email ORDER BY ssn) FROM users',
  'WITH c AS (SELECT ssn FROM users) SELECT ssn FROM c',
  'WITH c AS MATERIALIZED (SELECT ssn AS s FROM users) SELECT s FROM c',
  'WITH c(x) AS (SELECT ssn FROM users) SELECT x FROM c',
  'SELECT s.ssn FROM (SELECT ssn FROM users) s',
  'SELECT a FROM (SELECT ssn FROM users) s(a)',
  'SELECT d FROM users u(a, b, d)',
  'SELECT l.ssn FROM orders o, LATERAL (SELECT ssn FROM users WHERE id = o.user_id) l',
  'DECLARE c CURSOR FOR SELECT ssn FROM users',
  'PREPARE p(int) AS SELECT ssn, email FROM users WHERE id = $1',
  'EXECUTE p(1)',
  'EXPLAIN SELECT ssn FROM users',
  'DELETE FROM users WHERE id = 1 RETURNING ssn',
  'WITH d AS (DELETE FROM users WHERE id = 1 RETURNING ssn) SELECT ssn FROM d',
  "INSERT INTO orders (id, user_id, total) SELECT id, id, 0 FROM users WHERE ssn LIKE '1%'",
  "UPDATE users SET name = 'x' WHERE email = 'a@b.c'",
  "UPDATE orders SET total = 0 WHERE user_id IN (SELECT id FROM users WHERE ssn = '1')",
  "SELECT id FROM users WHERE lower(email) = 'x'",
  'SELECT * FROM users WHERE email IN (SELECT email FROM users)',
  "SELECT name FROM users WHERE EXISTS (SELECT 1 FROM users u2 WHERE u2.ssn LIKE '9%')",
  'SELECT lower(name), upper(name) || id FROM users',
  'SELECT lower(secret) FROM unknown_table',
  'SELECT id FROM users WHERE app.audit(name)',
  'SELECT le FROM user_emails',
  'COPY users (id, name) TO STDOUT',
  'COPY users FROM STDIN',
  'CREATE TABLE t AS SELECT id, name FROM users',
  'CREATE TABLE t AS SELECT s.id FROM (SELECT id, ssn FROM users) s',
  "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT count(*) FROM users'",
  'ALTER TABLE users RENAME COLUMN name TO full_name',
  'ALTER TABLE orders RENAME TO purchases',
  'CREATE TRIGGER t AFTER INSERT ON orders FOR EACH ROW EXECUTE FUNCTION app.copy_row()',
  'SELECT * FROM users NATURAL FULL JOIN orders',
  'SELECT * FROM users FULL JOIN orders USING (id)',
  'SELECT u FROM (SELECT u FROM users u) s',
  'SELECT EXISTS (SELECT ssn FROM users)',
  "WITH users AS (SELECT 'x' AS ssn) SELECT lower(ssn) FROM users",
  'CREATE TABLE t AS SELECT o.* FROM users u JOIN orders o ON true',
  'INSERT INTO audit SELECT y FROM (SELECT * FROM (SELECT * FROM (SELECT id, ssn FROM users) a) b) c(y, z)',
  "INSERT INTO users (id, name) VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET name = excluded.name",
  'WITH c AS (SELECT lower(ssn) AS x FROM users) UPDATE orders SET total = 0',
];

interface FlowRow {
  readonly sql: string;
  readonly routes: readonly FlowRoute[];
  /** Checked when given: one of the flows has this column. */
  readonly column?: string;
}

// Statements that carry a masked value where masking cannot follow it.
const FLOWS: readonly FlowRow[] = [
  // Computed outputs.
  { sql: 'SELECT lower(email) FROM users', routes: ['expression'], column: 'public.users.email' },
  { sql: "SELECT email || '' FROM users", routes: ['expression'] },
  { sql: 'SELECT ssn::int FROM users', routes: ['expression'] },
  { sql: 'SELECT ssn COLLATE "C" FROM users', routes: ['expression'] },
  { sql: "SELECT encode(convert_to(ssn, 'UTF8'), 'hex') FROM users", routes: ['expression'] },
  { sql: 'SELECT reverse(ssn) FROM users', routes: ['expression'] },
  { sql: "SELECT translate(ssn, '0123456789', 'abcdefghij') FROM users", routes: ['expression'] },
  { sql: 'SELECT md5(ssn) FROM users', routes: ['expression'] },
  { sql: 'SELECT substr(ssn, 1, 3) FROM users', routes: ['expression'] },
  { sql: "SELECT format('%s', ssn) FROM users", routes: ['expression'] },
  { sql: "SELECT string_agg(email, ',') FROM users", routes: ['expression'] },
  { sql: 'SELECT max(ssn) FROM users', routes: ['expression'] },
  { sql: 'SELECT array_agg(ssn) FROM users', routes: ['expression'] },
  { sql: 'SELECT first_value(ssn) OVER (ORDER BY id) FROM users', routes: ['expression'] },
  { sql: 'SELECT to_jsonb(u) FROM users u', routes: ['expression'], column: 'public.users.ssn' },
  { sql: 'SELECT row_to_json(u) FROM users u', routes: ['expression'] },
  { sql: 'SELECT (u).ssn FROM users u', routes: ['expression'], column: 'public.users.ssn' },
  { sql: 'SELECT u::text FROM users u', routes: ['expression'] },
  { sql: 'SELECT row(u.*) FROM users u', routes: ['expression'] },
  { sql: 'SELECT xmlelement(name a, ssn) FROM users', routes: ['expression'] },
  { sql: "SELECT json_build_object('s', ssn) FROM users", routes: ['expression'] },
  { sql: "SELECT json_object('s': ssn) FROM users", routes: ['expression'] },
  { sql: "SELECT CASE WHEN ssn LIKE '1%' THEN 1 END FROM users", routes: ['expression'] },
  { sql: 'SELECT lower(le) FROM user_emails', routes: ['expression'], column: 'public.user_emails.le' },
  { sql: 'SELECT lower(s.x) FROM (SELECT u.email AS x FROM users u) s', routes: ['expression'], column: 'public.users.email' },
  { sql: 'WITH c(x) AS (SELECT ssn FROM users) SELECT lower(x) FROM c', routes: ['expression'], column: 'public.users.ssn' },
  { sql: 'SELECT upper(a) FROM (SELECT ssn FROM users) s(a)', routes: ['expression'] },
  { sql: 'SELECT lower(d) FROM users u(a, b, d)', routes: ['expression'], column: 'public.users.ssn' },
  { sql: 'SELECT x FROM (SELECT lower(ssn) AS x FROM users) s', routes: ['expression'] },
  { sql: 'DELETE FROM users WHERE id = 1 RETURNING lower(ssn)', routes: ['expression'] },
  // Set operations and subqueries.
  { sql: 'SELECT ssn FROM users UNION ALL SELECT name FROM users', routes: ['set_operation'] },
  { sql: 'SELECT email FROM users INTERSECT SELECT email FROM users', routes: ['set_operation'] },
  { sql: 'SELECT x FROM (SELECT ssn AS x FROM users UNION SELECT name FROM users) s', routes: ['set_operation'] },
  { sql: 'WITH RECURSIVE r(s) AS (SELECT ssn FROM users UNION ALL SELECT s FROM r WHERE false) SELECT s FROM r', routes: ['set_operation'] },
  { sql: 'SELECT (SELECT ssn FROM users LIMIT 1)', routes: ['subquery'] },
  { sql: 'SELECT ARRAY(SELECT email FROM users)', routes: ['subquery'] },
  // Joins and functions in FROM.
  { sql: 'SELECT ssn FROM users a FULL JOIN users b USING (ssn)', routes: ['merged_join'], column: 'public.users.ssn' },
  { sql: 'SELECT * FROM users a NATURAL FULL JOIN (SELECT id, ssn FROM users) b', routes: ['merged_join'] },
  { sql: 'SELECT x FROM users, LATERAL unnest(array[ssn]) AS x', routes: ['expression', 'function_from'] },
  { sql: "SELECT jt.* FROM users u, json_table(to_jsonb(u.ssn), '$' COLUMNS (v text PATH '$')) jt", routes: ['function_from'] },
  { sql: "SELECT * FROM users u, xmltable('/a' PASSING xmlelement(name a, u.email) COLUMNS v text PATH '.') x", routes: ['function_from'] },
  { sql: 'SELECT x FROM users, LATERAL (VALUES (ssn)) v(x)', routes: ['expression'] },
  // Values stored server-side.
  { sql: 'CREATE TABLE t AS SELECT ssn FROM users', routes: ['server_side'], column: 'public.users.ssn' },
  { sql: 'CREATE TABLE t AS TABLE users', routes: ['server_side'] },
  { sql: 'SELECT ssn INTO t FROM users', routes: ['server_side'] },
  { sql: 'SELECT * INTO t FROM users', routes: ['server_side'] },
  { sql: 'INSERT INTO orders (id) SELECT ssn::int FROM users', routes: ['server_side'] },
  { sql: 'INSERT INTO audit SELECT * FROM users', routes: ['server_side'] },
  { sql: 'INSERT INTO audit VALUES ((SELECT ssn FROM users LIMIT 1))', routes: ['server_side'] },
  { sql: 'UPDATE users SET name = ssn', routes: ['server_side'] },
  { sql: 'UPDATE orders o SET total = length(u.email) FROM users u WHERE u.id = o.user_id', routes: ['server_side'] },
  { sql: 'UPDATE orders SET (id, total) = (SELECT id, ssn::int FROM users LIMIT 1)', routes: ['server_side'] },
  { sql: 'MERGE INTO audit a USING users u ON a.id = u.id WHEN MATCHED THEN UPDATE SET note = u.ssn', routes: ['server_side'] },
  { sql: 'MERGE INTO audit a USING users u ON a.id = u.id WHEN NOT MATCHED THEN INSERT (id, note) VALUES (u.id, u.email)', routes: ['server_side'] },
  { sql: 'INSERT INTO users (id, name) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET name = users.ssn', routes: ['server_side'] },
  { sql: 'CREATE VIEW v AS SELECT ssn FROM users', routes: ['server_side'] },
  { sql: 'CREATE MATERIALIZED VIEW mv AS SELECT email FROM users', routes: ['server_side'] },
  { sql: 'CREATE TEMP VIEW v AS SELECT lower(email) AS e FROM users', routes: ['server_side'] },
  { sql: 'ALTER TABLE users ADD COLUMN ssn_copy text GENERATED ALWAYS AS (ssn) STORED', routes: ['server_side'] },
  { sql: 'ALTER TABLE users ALTER COLUMN name SET DEFAULT ssn', routes: ['server_side'] },
  { sql: 'ALTER TABLE users ALTER COLUMN name TYPE text USING ssn', routes: ['server_side'] },
  { sql: 'CREATE RULE r AS ON INSERT TO users DO ALSO INSERT INTO audit VALUES (NEW.ssn)', routes: ['server_side'] },
  { sql: 'CREATE RULE r AS ON UPDATE TO users DO ALSO INSERT INTO audit SELECT NEW.*', routes: ['server_side'] },
  { sql: 'WITH d AS (DELETE FROM users RETURNING ssn) INSERT INTO audit SELECT ssn FROM d', routes: ['server_side'] },
  { sql: 'ALTER TABLE parent ATTACH PARTITION users FOR VALUES IN (1)', routes: ['server_side'] },
  // COPY.
  { sql: 'COPY users TO STDOUT', routes: ['copy'], column: 'public.users.email' },
  { sql: 'COPY users (id, ssn) TO STDOUT', routes: ['copy'], column: 'public.users.ssn' },
  { sql: 'COPY (SELECT ssn FROM users) TO STDOUT', routes: ['copy'] },
  { sql: 'COPY (SELECT id FROM users UNION SELECT ssn::int FROM users) TO STDOUT', routes: ['copy'] },
  // Function bodies and DO blocks.
  { sql: "CREATE FUNCTION f() RETURNS text LANGUAGE sql AS 'SELECT ssn FROM users LIMIT 1'", routes: ['function_body'], column: 'public.users.ssn' },
  { sql: 'CREATE FUNCTION f() RETURNS text LANGUAGE sql BEGIN ATOMIC SELECT lower(email) FROM users; END', routes: ['function_body'] },
  { sql: 'CREATE FUNCTION f() RETURNS text LANGUAGE sql RETURN (SELECT ssn FROM users LIMIT 1)', routes: ['function_body'] },
  { sql: "CREATE PROCEDURE p() LANGUAGE sql AS 'INSERT INTO audit SELECT ssn FROM users'", routes: ['function_body'] },
  { sql: "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$ BEGIN RETURN (SELECT ssn FROM users LIMIT 1); END $$", routes: ['function_body'], column: 'ssn' },
  { sql: "CREATE FUNCTION f() RETURNS text LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'SELECT * FROM secrets'; END $$", routes: ['function_body'] },
  { sql: "DO $$ BEGIN PERFORM set_config('x', (SELECT ssn FROM users LIMIT 1), false); END $$", routes: ['function_body'] },
  // Functions that can carry a value out.
  { sql: "SELECT id FROM users WHERE set_config('app.leak', ssn, false) IS NOT NULL", routes: ['side_effect'] },
  { sql: "SELECT pg_notify('leak', email) FROM users", routes: ['expression', 'side_effect'] },
  { sql: 'SELECT id FROM users u WHERE app.audit(u)', routes: ['side_effect'] },
  { sql: 'CALL app.log_value((SELECT ssn FROM users LIMIT 1))', routes: ['side_effect'] },
  { sql: "SELECT id FROM users u JOIN orders o ON set_config('a', u.ssn, false) IS NOT NULL", routes: ['side_effect'] },
  { sql: "SELECT id FROM users WHERE ssn OPERATOR(app.===) 'x'", routes: ['side_effect'] },
  { sql: 'CREATE TRIGGER t AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION app.copy_row()', routes: ['side_effect'] },
  { sql: 'SELECT s FROM (SELECT ssn FROM users) s', routes: ['expression'] },
  { sql: 'WITH c AS (SELECT * FROM users) SELECT c FROM c', routes: ['expression'] },
  { sql: "UPDATE users SET name = 'x' WHERE id = 1 RETURNING to_jsonb(users)", routes: ['expression'] },
  { sql: 'SELECT ssn IN (SELECT ssn FROM users) FROM users', routes: ['subquery'] },
  { sql: 'INSERT INTO audit SELECT z FROM (SELECT * FROM (SELECT * FROM (SELECT id, ssn FROM users) a) b) c(y, z)', routes: ['server_side'] },
  { sql: 'CREATE TABLE t AS SELECT x FROM (SELECT 1 AS x UNION SELECT ssn::int FROM users) s', routes: ['server_side'] },
  { sql: 'COPY (DELETE FROM users WHERE id = 1 RETURNING ssn) TO STDOUT', routes: ['copy'] },
  // Renames.
  { sql: 'ALTER TABLE users RENAME TO people', routes: ['rename'] },
  { sql: 'ALTER TABLE users RENAME COLUMN ssn TO tax_id', routes: ['rename'], column: 'public.users.ssn' },
  { sql: 'ALTER TABLE users SET SCHEMA archive', routes: ['rename'] },
  { sql: 'ALTER VIEW user_emails RENAME COLUMN le TO plain', routes: ['rename'] },
  // Through PREPARE and EXPLAIN.
  { sql: 'PREPARE p AS SELECT lower(ssn) FROM users', routes: ['expression'] },
  { sql: 'PREPARE p AS INSERT INTO audit SELECT ssn FROM users', routes: ['server_side'] },
  { sql: 'EXPLAIN ANALYZE CREATE TABLE t AS SELECT ssn FROM users', routes: ['server_side'] },
];

describe('masked flows', () => {
  it.each(NO_FLOW)('finds no flow in %s', (sql) => {
    expect(flows(sql)).toEqual([]);
  });

  it.each(FLOWS)('finds $routes in $sql', ({ sql, routes: expected, column }) => {
    expect(routes(sql)).toEqual([...expected].sort());
    if (column !== undefined) expect(flows(sql).map((flow) => flow.column)).toContain(column);
  });

  it('names the rule, the column and where the value goes', () => {
    expect(flows('SELECT lower(ssn) FROM users')).toEqual([{ column: 'public.users.ssn', rule: 'ssn', route: 'expression', detail: 'lower(ssn) in the select list' }]);
    expect(flows('SELECT email FROM users UNION SELECT name FROM users')).toEqual([{ column: 'public.users.email', rule: 'emails', route: 'set_operation', detail: 'email in a UNION arm' }]);
    expect(flows('INSERT INTO audit SELECT ssn FROM users')[0]?.detail).toBe('ssn in INSERT ... SELECT');
    expect(flows("SELECT 1 FROM users WHERE set_config('a', ssn, false) = ''")[0]?.detail).toBe('ssn passed to set_config()');
  });

  it('reports each masked column a whole row carries', () => {
    expect(flows('SELECT to_jsonb(u) FROM users u').map((flow) => flow.column).sort()).toEqual(['public.users.email', 'public.users.ssn']);
  });

  it('limits COPY to the listed columns', () => {
    expect(flows('COPY users (id, ssn) TO STDOUT').map((flow) => flow.column)).toEqual(['public.users.ssn']);
  });

  it('reports a rule identifier in an unparsed body with the rule that names it', () => {
    expect(flows("DO $$ BEGIN RAISE NOTICE '%', (SELECT email FROM users LIMIT 1); END $$")).toEqual([
      { column: 'email', rule: 'emails', route: 'function_body', detail: 'email in a DO block' },
    ]);
  });

  it('reads a SQL function body that does not parse as text', () => {
    expect(routes("CREATE FUNCTION f() RETURNS text LANGUAGE sql AS 'SELEC ssn FRM users'")).toEqual(['function_body']);
  });

  it('keeps details within 120 characters', () => {
    const long = `SELECT lower(ssn${" || 'padding padding padding'".repeat(20)}) FROM users`;
    for (const flow of flows(long)) expect(flow.detail.length).toBeLessThanOrEqual(120);
  });

  it('analyzes a 10,000-deep expression without running out of stack', () => {
    // Built directly: the parser's own JSON decoding gives up long before this depth.
    const template = parseOne("SELECT lower(ssn || 'x') FROM users").node;
    const call = (template.SelectStmt as { targetList: { ResTarget: { val: { FuncCall: { args: unknown[] } } } }[] }).targetList[0]!.ResTarget.val.FuncCall;
    let deep: unknown = { ColumnRef: { fields: [{ String: { sval: 'name' } }] } };
    for (let depth = 0; depth < 10_000; depth++) {
      deep = { A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: '||' } }], lexpr: deep, rexpr: { A_Const: { sval: { sval: 'a' } } } } };
    }
    call.args = [{ A_Expr: { kind: 'AEXPR_OP', name: [{ String: { sval: '||' } }], lexpr: deep, rexpr: { ColumnRef: { fields: [{ String: { sval: 'ssn' } }] } } } }];
    expect(maskedFlows(template, 'deep', NAMES, SCHEMA).map((flow) => flow.route)).toEqual(['expression']);
    expect(relationsNamed(template, 'deep', NAMES)).toEqual(['public.users']);
  });
});

describe('relations named', () => {
  function named(sql: string): string[] {
    const { node, text } = parseOne(sql);
    return relationsNamed(node, text, NAMES);
  }

  it('lists every relation, qualified, sorted and once, without CTE names', () => {
    expect(named('WITH c AS (SELECT * FROM users) SELECT * FROM c JOIN orders o ON true JOIN app.extra e ON true, users')).toEqual(['app.extra', 'public.orders', 'public.users']);
    expect(named('WITH t AS (SELECT * FROM t) SELECT * FROM t')).toEqual(['public.t']);
    expect(named('INSERT INTO audit SELECT * FROM users')).toEqual(['public.audit', 'public.users']);
    expect(named('CREATE TEMP TABLE scratch AS SELECT 1')).toEqual(['pg_temp.scratch']);
    expect(named('SELECT * FROM pg_class')).toEqual(['pg_catalog.pg_class']);
  });

  it('includes relations read inside SQL function bodies', () => {
    expect(named("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT count(*) FROM orders'")).toEqual(['public.orders']);
    expect(named('CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1 FROM users; END')).toEqual(['public.users']);
    expect(named("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS 'BEGIN RETURN 1; END'")).toEqual([]);
  });
});
