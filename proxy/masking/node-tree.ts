// PostgreSQL's node-tree text format (outfuncs.c / read.c), as stored in pg_rewrite.ev_action:
// `{NAME :field value ...}` nodes, `(...)` lists (`(i 1 2)`, `(o ...)`, `(b ...)`, `(x ...)`
// for integer, OID, bitmapset and XID lists), `<>` for NULL, `"..."` String nodes, and Datums
// written as `<length> [ b0 b1 ... ]`. Tokens end at whitespace or at one of `(){}` and escape
// those (and a leading `<`, `"`, digit or sign) with a backslash.
//
// The parser knows no node's fields: a field takes exactly one value, so a value that happens to
// look like a field name (a column aliased `:x`) is still read as a value. It is iterative, so a
// deeply nested expression cannot overflow the stack.

export type TreeValue = string | null | TreeNode | TreeList | TreeDatum;

export interface TreeNode {
  readonly kind: 'node';
  /** The node tag as written: QUERY, RANGETBLENTRY, VAR, ... */
  readonly name: string;
  readonly fields: ReadonlyMap<string, TreeValue>;
}

export interface TreeList {
  readonly kind: 'list';
  /** `i` integer, `o` OID, `b` bitmapset, `x` XID list; empty for a list of nodes or values. */
  readonly marker: '' | 'i' | 'o' | 'b' | 'x';
  readonly items: readonly TreeValue[];
}

/** A Const's value: the length PostgreSQL wrote and the bytes (signed chars, as written). */
export interface TreeDatum {
  readonly kind: 'datum';
  readonly length: number;
  readonly bytes: readonly number[];
}

export class NodeTreeError extends Error {
  override readonly name = 'NodeTreeError';
}

interface OpenNode {
  readonly kind: 'node';
  readonly name: string;
  readonly fields: Map<string, TreeValue>;
  pending: string | undefined;
}

interface OpenList {
  readonly kind: 'list';
  readonly marker: TreeList['marker'];
  readonly items: TreeValue[];
}

const LIST_MARKERS = new Set(['i', 'o', 'b', 'x']);

/** Parses one node tree (ev_action is a list of Query nodes). Throws NodeTreeError on malformed text. */
export function parseNodeTree(text: string): TreeValue {
  const tokens = new Tokenizer(text);
  const open: (OpenNode | OpenList)[] = [];
  const top: TreeValue[] = [];

  const add = (value: TreeValue): void => {
    const parent = open[open.length - 1];
    if (!parent) top.push(value);
    else if (parent.kind === 'list') parent.items.push(value);
    else if (parent.pending !== undefined) {
      parent.fields.set(parent.pending, value);
      parent.pending = undefined;
    } else throw new NodeTreeError(`a value without a field name in a ${parent.name} node at offset ${tokens.offset}`);
  };

  for (let token = tokens.next(); token !== undefined; token = tokens.next()) {
    const parent = open[open.length - 1];
    if (token === '{') {
      const name = tokens.next();
      if (name === undefined || name.length === 0 || '(){}'.includes(name) || name.startsWith(':')) throw new NodeTreeError(`a node without a name at offset ${tokens.offset}`);
      open.push({ kind: 'node', name, fields: new Map(), pending: undefined });
    } else if (token === '}') {
      if (parent?.kind !== 'node') throw new NodeTreeError(`an unmatched } at offset ${tokens.offset}`);
      if (parent.pending !== undefined) throw new NodeTreeError(`field :${parent.pending} of a ${parent.name} node has no value`);
      open.pop();
      add({ kind: 'node', name: parent.name, fields: parent.fields });
    } else if (token === '(') {
      const marker = tokens.peek();
      const isMarker = marker !== undefined && LIST_MARKERS.has(marker);
      if (isMarker) tokens.next();
      open.push({ kind: 'list', marker: isMarker ? (marker as TreeList['marker']) : '', items: [] });
    } else if (token === ')') {
      if (parent?.kind !== 'list') throw new NodeTreeError(`an unmatched ) at offset ${tokens.offset}`);
      open.pop();
      add({ kind: 'list', marker: parent.marker, items: parent.items });
    } else if (parent?.kind === 'node' && parent.pending === undefined) {
      if (!token.startsWith(':') || token.length < 2) throw new NodeTreeError(`expected a field name in a ${parent.name} node at offset ${tokens.offset}, found ${JSON.stringify(token.slice(0, 40))}`);
      parent.pending = token.slice(1);
    } else if (parent?.kind === 'node' && /^\d+$/.test(token) && tokens.peek() === '[') {
      add(readDatum(tokens, Number(token)));
    } else {
      add(scalar(token));
    }
  }
  if (open.length > 0) throw new NodeTreeError('the text ends inside a node or list');
  if (top.length !== 1) throw new NodeTreeError(`expected one tree, found ${top.length}`);
  return top[0]!;
}

/** `<length> [ b0 b1 ... ]`: byval Datums print sizeof(Datum) bytes whatever their length. */
function readDatum(tokens: Tokenizer, length: number): TreeDatum {
  tokens.next(); // '['
  const bytes: number[] = [];
  for (let token = tokens.next(); token !== ']'; token = tokens.next()) {
    if (token === undefined || !/^-?\d{1,3}$/.test(token)) throw new NodeTreeError(`malformed Datum bytes at offset ${tokens.offset}`);
    bytes.push(Number(token));
  }
  return { kind: 'datum', length, bytes };
}

/** A token as a value: `<>` is NULL, `"..."` a String node, anything else its unescaped text. */
function scalar(token: string): string | null {
  if (token === '<>') return null;
  if (token.length >= 2 && token.startsWith('"') && token.endsWith('"')) return unescape(token.slice(1, -1));
  return unescape(token);
}

function unescape(token: string): string {
  return token.includes('\\') ? token.replace(/\\(.)/gs, '$1') : token;
}

/** read.c's pg_strtok: `(){}` are tokens of their own; other tokens end at unescaped whitespace or one of those. */
class Tokenizer {
  #at = 0;
  #peeked: string | undefined;

  constructor(private readonly text: string) {}

  get offset(): number {
    return this.#at;
  }

  peek(): string | undefined {
    this.#peeked ??= this.#read();
    return this.#peeked;
  }

  next(): string | undefined {
    if (this.#peeked !== undefined) {
      const token = this.#peeked;
      this.#peeked = undefined;
      return token;
    }
    return this.#read();
  }

  #read(): string | undefined {
    const text = this.text;
    let at = this.#at;
    while (at < text.length && isSpace(text.charCodeAt(at))) at++;
    if (at >= text.length) {
      this.#at = at;
      return undefined;
    }
    const start = at;
    if (isBracket(text[at]!)) at++;
    else {
      while (at < text.length && !isSpace(text.charCodeAt(at)) && !isBracket(text[at]!)) at += text[at] === '\\' && at + 1 < text.length ? 2 : 1;
    }
    this.#at = at;
    return text.slice(start, at);
  }
}

/** Exactly read.c's whitespace: outToken leaves other control characters (a CR in a name) unescaped. */
function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x09;
}

function isBracket(char: string): boolean {
  return char === '(' || char === ')' || char === '{' || char === '}';
}

// Typed reads of a parsed tree: a missing or mistyped field is an error, never a guess.

export function isNode(value: TreeValue | undefined, name?: string): value is TreeNode {
  return typeof value === 'object' && value !== null && value.kind === 'node' && (name === undefined || value.name === name);
}

export function field(node: TreeNode, name: string): TreeValue {
  const value = node.fields.get(name);
  if (value === undefined) throw new NodeTreeError(`a ${node.name} node has no :${name} field`);
  return value;
}

export function intField(node: TreeNode, name: string): number {
  const value = field(node, name);
  if (typeof value !== 'string' || !/^-?\d{1,10}$/.test(value)) throw new NodeTreeError(`:${name} of a ${node.name} node is not an integer`);
  return Number(value);
}

/** A string field; null when PostgreSQL wrote `<>`. */
export function stringField(node: TreeNode, name: string): string | null {
  const value = field(node, name);
  if (value !== null && typeof value !== 'string') throw new NodeTreeError(`:${name} of a ${node.name} node is not a string`);
  return value;
}

export function boolField(node: TreeNode, name: string): boolean {
  const value = field(node, name);
  if (value !== 'true' && value !== 'false') throw new NodeTreeError(`:${name} of a ${node.name} node is not a boolean`);
  return value === 'true';
}

/** A node field; null when PostgreSQL wrote `<>`. */
export function nodeField(node: TreeNode, name: string): TreeNode | null {
  const value = field(node, name);
  if (value !== null && !isNode(value)) throw new NodeTreeError(`:${name} of a ${node.name} node is not a node`);
  return value;
}

/** A list field's items; an empty list for `<>` (PostgreSQL writes NIL that way). */
export function listField(node: TreeNode, name: string): readonly TreeValue[] {
  const value = field(node, name);
  if (value === null) return [];
  if (typeof value !== 'object' || value.kind !== 'list') throw new NodeTreeError(`:${name} of a ${node.name} node is not a list`);
  return value.items;
}

/** The nodes of a list field, each checked to be a node named `name`. */
export function nodeListField(node: TreeNode, name: string, itemName: string): readonly TreeNode[] {
  return listField(node, name).map((item) => {
    if (!isNode(item, itemName)) throw new NodeTreeError(`:${name} of a ${node.name} node holds something other than ${itemName} nodes`);
    return item;
  });
}
