import type { PgNode } from './parse-tree.js';
import { asList, asNode, asString, stringList } from './parse-tree.js';

// Text for masked-flow reports: short descriptions of expressions for `detail`, and the
// identifier scan used where a body cannot be parsed as SQL (PL/pgSQL, other languages, DO).

/** The longest `detail` the contract allows. */
export const MAX_DETAIL = 120;
/** Descriptions nest at most this deep, so a deep tree costs no stack and little text. */
const MAX_DESCRIBE_DEPTH = 5;
/** Arguments shown per call or list before `…`. */
const MAX_ITEMS = 4;

/** `[type, body]` of a wrapped node (`{SelectStmt: {...}}`); undefined for a bare node or anything else. */
export function wrapped(value: unknown): [string, PgNode] | undefined {
  const node = asNode(value);
  if (node === undefined) return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const type = keys[0]!;
  const body = asNode(node[type]);
  const first = type.charCodeAt(0);
  return body !== undefined && first >= 65 && first <= 90 ? [type, body] : undefined;
}

/** Cuts text to `limit` characters, marking the cut. */
export function clip(text: string, limit = MAX_DETAIL): string {
  return text.length <= limit ? text : `${text.slice(0, limit - 1)}…`;
}

/** A short SQL-like rendering of an expression (`lower(ssn)`, `ssn::int4`), for `detail`. */
export function describe(value: unknown): string {
  return clip(render(value, 0), 80);
}

function render(value: unknown, depth: number): string {
  const node = wrapped(value);
  if (node === undefined) return '…';
  if (depth >= MAX_DESCRIBE_DEPTH) return '…';
  const [type, body] = node;
  const sub = (child: unknown): string => render(child, depth + 1);
  const items = (list: unknown): string => {
    const all = asList(list);
    const shown = all.slice(0, MAX_ITEMS).map(sub);
    return all.length > MAX_ITEMS ? `${shown.join(', ')}, …` : shown.join(', ');
  };
  switch (type) {
    case 'ColumnRef':
      return asList(body.fields).map((field) => asString(asNode(asNode(field)?.String)?.sval) ?? '*').join('.');
    case 'A_Const':
      return constant(body);
    case 'ParamRef':
      return `$${typeof body.number === 'number' ? body.number : '?'}`;
    case 'FuncCall': {
      const name = stringList(body.funcname).join('.');
      const args = body.agg_star === true ? '*' : `${body.agg_distinct === true ? 'DISTINCT ' : ''}${items(body.args)}`;
      return `${name}(${args})${body.over !== undefined ? ' OVER (…)' : ''}`;
    }
    case 'TypeCast':
      return `${sub(body.arg)}::${stringList(asNode(body.typeName)?.names).at(-1) ?? '?'}`;
    case 'CollateClause':
      return `${sub(body.arg)} COLLATE "${stringList(body.collname).join('.')}"`;
    case 'A_Expr': {
      const op = body.kind === 'AEXPR_LIKE' ? 'LIKE' : body.kind === 'AEXPR_ILIKE' ? 'ILIKE' : (stringList(body.name).join(' ') || '?');
      const right = asNode(body.rexpr)?.List !== undefined ? `(${items(asNode(asNode(body.rexpr)?.List)?.items)})` : sub(body.rexpr);
      return body.lexpr === undefined ? `${op} ${right}` : `${sub(body.lexpr)} ${op} ${right}`;
    }
    case 'BoolExpr': {
      const op = body.boolop === 'AND_EXPR' ? ' AND ' : body.boolop === 'OR_EXPR' ? ' OR ' : undefined;
      return op === undefined ? `NOT ${sub(asList(body.args)[0])}` : asList(body.args).slice(0, MAX_ITEMS).map(sub).join(op);
    }
    case 'A_Indirection': {
      const path = asList(body.indirection).map((part) => {
        const field = asString(asNode(asNode(part)?.String)?.sval);
        return field === undefined ? '[…]' : `.${field}`;
      });
      return `(${sub(body.arg)})${path.join('')}`;
    }
    case 'SubLink': {
      const select = wrapped(body.subselect)?.[1];
      const first = asNode(asNode(asList(select?.targetList)[0])?.ResTarget)?.val;
      const query = `SELECT ${first === undefined ? '…' : sub(first)} …`;
      switch (body.subLinkType) {
        case 'EXISTS_SUBLINK':
          return `EXISTS (${query})`;
        case 'ARRAY_SUBLINK':
          return `ARRAY(${query})`;
        case 'EXPR_SUBLINK':
          return `(${query})`;
        default:
          return `${sub(body.testexpr)} IN (${query})`;
      }
    }
    case 'CaseExpr': {
      const when = asNode(asNode(asList(body.args)[0])?.CaseWhen)?.expr;
      return `CASE WHEN ${sub(when)} …`;
    }
    case 'NamedArgExpr':
      return `${asString(body.name) ?? '?'} => ${sub(body.arg)}`;
    case 'MultiAssignRef': // SET (a, b) = (SELECT ...)
      return sub(body.source);
    case 'NullTest':
      return `${sub(body.arg)} IS ${body.nulltesttype === 'IS_NOT_NULL' ? 'NOT ' : ''}NULL`;
    case 'RowExpr':
      return `ROW(${items(body.args)})`;
    case 'A_ArrayExpr':
      return `ARRAY[${items(body.elements)}]`;
    case 'CoalesceExpr':
      return `COALESCE(${items(body.args)})`;
    case 'MinMaxExpr':
      return `${body.op === 'IS_LEAST' ? 'LEAST' : 'GREATEST'}(${items(body.args)})`;
    case 'XmlExpr':
      return `${(asString(body.op) ?? 'IS_XML').slice(3).toLowerCase()}(…)`;
    case 'JsonObjectConstructor':
      return 'JSON_OBJECT(…)';
    case 'JsonArrayConstructor':
    case 'JsonArrayQueryConstructor':
      return 'JSON_ARRAY(…)';
    default:
      return `${type}(…)`;
  }
}

function constant(body: PgNode): string {
  if (body.isnull === true) return 'NULL';
  const ival = asNode(body.ival);
  if (ival !== undefined) return String(typeof ival.ival === 'number' ? ival.ival : 0);
  const fval = asString(asNode(body.fval)?.fval);
  if (fval !== undefined) return fval;
  const boolval = asNode(body.boolval);
  if (boolval !== undefined) return boolval.boolval === true ? 'true' : 'false';
  const sval = asString(asNode(body.sval)?.sval);
  if (sval !== undefined) return `'${clip(sval, 20)}'`;
  return asString(asNode(body.bsval)?.bsval) ?? '…';
}

/**
 * The identifiers a body mentions, the way SQL folds them: unquoted words lower-cased,
 * double-quoted ones kept as written (`""` is a quote). Strings and comments are scanned too:
 * PL code builds dynamic SQL out of string literals, so a name inside one still counts.
 */
export function identifiers(text: string): Set<string> {
  const found = new Set<string>();
  const length = text.length;
  let index = 0;
  while (index < length) {
    const char = text[index]!;
    if (char === '"') {
      let name = '';
      index++;
      while (index < length) {
        if (text[index] === '"') {
          if (text[index + 1] !== '"') break;
          index++;
        }
        name += text[index];
        index++;
      }
      index++;
      if (name !== '') found.add(name);
    } else if (isIdentifierStart(char)) {
      const start = index;
      while (index < length && isIdentifierPart(text[index]!)) index++;
      found.add(text.slice(start, index).toLowerCase());
    } else {
      index++;
    }
  }
  return found;
}

function isIdentifierStart(char: string): boolean {
  return (char >= 'a' && char <= 'z') || (char >= 'A' && char <= 'Z') || char === '_' || char.charCodeAt(0) >= 128;
}

function isIdentifierPart(char: string): boolean {
  return isIdentifierStart(char) || (char >= '0' && char <= '9') || char === '$';
}
