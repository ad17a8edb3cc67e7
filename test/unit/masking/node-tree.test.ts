import { describe, expect, it } from 'vitest';
import { intField, isNode, listField, NodeTreeError, nodeField, parseNodeTree, stringField, type TreeNode, type TreeValue } from '../../../proxy/masking/node-tree.js';

// Fixtures are PostgreSQL 18's own output (pg_rewrite.ev_action), trimmed to the parts under test.

function node(value: TreeValue): TreeNode {
  if (!isNode(value)) throw new Error('not a node');
  return value;
}

function items(value: TreeValue): readonly TreeValue[] {
  if (typeof value !== 'object' || value === null || value.kind !== 'list') throw new Error('not a list');
  return value.items;
}

describe('parseNodeTree', () => {
  it('reads nodes, fields, NULLs and typed lists', () => {
    const tree = parseNodeTree(
      '({QUERY :commandType 1 :utilityStmt <> :rtable ({RANGETBLENTRY :alias <> :eref {ALIAS :aliasname users :colnames ("id" "email")} :rtekind 0 :relid 16385 :relkind r}) :rteperminfos ({RTEPERMISSIONINFO :selectedCols (b 8 10) :insertedCols (b)}) :ctecoltypes (o 25 23) :ctecoltypmods (i -1 -1)})',
    );
    expect(tree).toMatchObject({ kind: 'list', marker: '' });
    const query = node(items(tree)[0]!);
    expect(query.name).toBe('QUERY');
    expect(intField(query, 'commandType')).toBe(1);
    expect(nodeField(query, 'utilityStmt')).toBeNull();
    const rte = node(listField(query, 'rtable')[0]!);
    expect([intField(rte, 'relid'), stringField(rte, 'relkind')]).toEqual([16385, 'r']);
    expect(listField(node(rte.fields.get('eref')!), 'colnames')).toEqual(['id', 'email']);
    expect(node(listField(query, 'rteperminfos')[0]!).fields.get('selectedCols')).toEqual({ kind: 'list', marker: 'b', items: ['8', '10'] });
    expect(node(listField(query, 'rteperminfos')[0]!).fields.get('insertedCols')).toEqual({ kind: 'list', marker: 'b', items: [] });
    expect(query.fields.get('ctecoltypes')).toEqual({ kind: 'list', marker: 'o', items: ['25', '23'] });
    expect(query.fields.get('ctecoltypmods')).toEqual({ kind: 'list', marker: 'i', items: ['-1', '-1'] });
  });

  it('unescapes names the way outToken escapes them, and reads a value that looks like a field name', () => {
    const names = [':x', '\\(a\\ b\\)', '\\1abc', '\\\\back', '\\"q', '\\-1', '\\<>', '""', 'my\\ col', '*SELECT*\\ 1', 'a\\{b\\}'];
    const entries = names.map((name, index) => `{TARGETENTRY :resno ${index + 1} :resname ${name} :resjunk false}`).join(' ');
    expect(items(parseNodeTree(`(${entries})`)).map((item) => stringField(node(item), 'resname'))).toEqual([':x', '(a b)', '1abc', '\\back', '"q', '-1', '<>', '', 'my col', '*SELECT* 1', 'a{b}']);
  });

  it('reads String nodes with escapes inside their quotes', () => {
    // Column names "a b", "x, c(d, "", e", 1 as PostgreSQL 18 writes them in :colnames.
    expect(parseNodeTree('("a\\ b" "\\"x" "c\\(d" "" "e"" "\\1")')).toEqual({ kind: 'list', marker: '', items: ['a b', '"x', 'c(d', '', 'e"', '1'] });
  });

  it('reads Datums: byval ones print 8 bytes whatever their length, byte values may be negative', () => {
    const consts = items(
      parseNodeTree(
      '({CONST :consttype 23 :constlen 4 :constbyval true :constisnull false :location -1 :constvalue 4 [ 42 0 0 0 0 0 0 0 ]} {CONST :consttype 25 :constlen -1 :constvalue 6 [ 24 0 0 0 -61 -87 ]} {CONST :consttype 25 :constisnull true :constvalue <>})',
      ),
    );
    expect(consts.map((item) => node(item).fields.get('constvalue'))).toEqual([
      { kind: 'datum', length: 4, bytes: [42, 0, 0, 0, 0, 0, 0, 0] },
      { kind: 'datum', length: 6, bytes: [24, 0, 0, 0, -61, -87] },
      null,
    ]);
    // The field after a Datum is read as a field again.
    expect(intField(node(parseNodeTree('{CONST :constvalue 4 [ 1 0 0 0 0 0 0 0 ] :location 7}')), 'location')).toBe(7);
  });

  it('reads a deeply nested expression without overflowing the stack', () => {
    const depth = 100_000;
    const text = '{OPEXPR :args ('.repeat(depth) + '{VAR :varno 1}' + ')}'.repeat(depth);
    let value: TreeValue = parseNodeTree(text);
    let levels = 0;
    while (isNode(value, 'OPEXPR')) {
      value = listField(value, 'args')[0]!;
      levels++;
    }
    expect(levels).toBe(depth);
  });

  it.each([
    ['', 'expected one tree, found 0'],
    ['{QUERY :a 1', 'ends inside a node'],
    ['({QUERY :a 1}', 'ends inside a node or list'],
    ['{QUERY :a 1})', 'unmatched )'],
    ['({A :a 1}}', 'unmatched }'],
    ['{A :a}', 'field :a of a A node has no value'],
    ['{A 1 2}', 'expected a field name'],
    ['{A :a 1} {B :b 2}', 'expected one tree, found 2'],
    ['{}', 'a node without a name'],
    ['{A :v 4 [ 1 2', 'malformed Datum bytes'],
    ['{A :v 4 [ 1 x ]}', 'malformed Datum bytes'],
  ])('refuses malformed text %j', (text, message) => {
    expect(() => parseNodeTree(text)).toThrow(NodeTreeError);
    expect(() => parseNodeTree(text)).toThrow(message);
  });

  it('reports a missing or mistyped field instead of guessing', () => {
    const tree = node(parseNodeTree('{VAR :varno x :name <>}'));
    expect(() => intField(tree, 'varattno')).toThrow('a VAR node has no :varattno field');
    expect(() => intField(tree, 'varno')).toThrow(':varno of a VAR node is not an integer');
    expect(stringField(tree, 'name')).toBeNull();
  });
});
