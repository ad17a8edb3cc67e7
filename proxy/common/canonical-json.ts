// Canonical JSON (RFC 8785 style), the text every audit hash covers. It runs for each recorded
// event on the gateway's hot path, so it is a hand-written walk: JSON.stringify only escapes
// strings. No Node APIs (isomorphic).
//
// It agrees with JSON.stringify wherever that is lossless (toJSON is honoured, undefined object
// properties are dropped, an undefined array slot is null), so what the store reads back and
// re-canonicalizes hashes the same. Where JSON.stringify would quietly change a value (NaN and
// Infinity become null, a function or symbol vanishes) it throws, as it already does for a BigInt
// or a cycle: a hash of data that was not what the caller had would prove nothing.

/** The canonical JSON text of `value`; throws an Error naming the first value JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  try {
    return write(value, []);
  } catch (error) {
    if (error instanceof Unrepresentable) throw new Error(`canonicalJson: ${error.what} at ${pathText(error.path)} cannot be written as JSON`, { cause: error });
    throw error;
  }
}

/** Raised deep in the walk; each level on the way out adds its key, so the happy path pays nothing for paths. */
class Unrepresentable extends Error {
  readonly path: (string | number)[] = [];
  constructor(readonly what: string) {
    super(what);
  }
}

/** `ancestors` holds the objects being written around this one: a cycle is one seen again. */
function write(value: unknown, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      // For finite numbers String() is JSON.stringify's algorithm (-0 is "0", 1e21 is "1e+21").
      if (Number.isFinite(value)) return String(value);
      throw new Unrepresentable(`the number ${String(value)}`);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      return value === null ? 'null' : writeObject(value, ancestors);
    case 'bigint':
      throw new Unrepresentable(`the BigInt ${String(value)}n`);
    case 'undefined':
      throw new Unrepresentable('undefined');
    case 'function':
      throw new Unrepresentable('a function');
    case 'symbol':
      throw new Unrepresentable(`the symbol ${value.description ?? ''}`.trimEnd());
  }
}

function writeObject(value: object, ancestors: object[]): string {
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function') {
    // Dates and the like: what JSON.stringify would store, so the reader's copy hashes the same.
    const replaced: unknown = toJSON.call(value);
    if (replaced === undefined) throw new Unrepresentable('a toJSON() that returned undefined');
    return write(replaced, ancestors);
  }
  if (ancestors.includes(value)) throw new Unrepresentable('a cycle (an object that contains itself)');
  ancestors.push(value);
  let text: string;
  if (Array.isArray(value)) {
    text = '[';
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (i > 0) text += ',';
      // JSON.stringify writes an undefined slot as null; parsing it back gives null, which hashes the same.
      text += item === undefined ? 'null' : writeMember(item, i, ancestors);
    }
    text += ']';
  } else {
    const record = value as Record<string, unknown>;
    const keys = sortKeys(Object.keys(record));
    text = '{';
    let first = true;
    for (const key of keys) {
      const member = record[key];
      if (member === undefined) continue;
      text += (first ? '' : ',') + quote(key) + ':' + writeMember(member, key, ancestors);
      first = false;
    }
    text += '}';
  }
  ancestors.pop();
  return text;
}

function writeMember(member: unknown, key: string | number, ancestors: object[]): string {
  // Strings and numbers are most members: skip the try frame and the switch for them.
  if (typeof member === 'string') return quote(member);
  if (typeof member === 'number' && Number.isFinite(member)) return String(member);
  try {
    return write(member, ancestors);
  } catch (error) {
    if (error instanceof Unrepresentable) error.path.push(key);
    throw error;
  }
}

// Characters JSON.stringify escapes: quote, backslash, controls, and surrogates (a lone one
// becomes \udXXX; a pair is left alone, but such strings are rare enough to hand over whole).
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** JSON.stringify(text), skipping the call into the runtime for the common plain string. */
function quote(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : '"' + text + '"';
}

/**
 * Keys in UTF-16 code-unit order (what RFC 8785 asks for, and what `<` compares). Objects have
 * few keys, where insertion sort beats Array.prototype.sort (whose default order is the same).
 */
function sortKeys(keys: string[]): string[] {
  if (keys.length > 16) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    while (j >= 0 && (keys[j] as string) > key) {
      keys[j + 1] = keys[j] as string;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}

/** `$.rows[3].name`, from keys gathered innermost first. */
function pathText(path: readonly (string | number)[]): string {
  let text = '$';
  for (let i = path.length - 1; i >= 0; i--) {
    const key = path[i];
    text += typeof key === 'number' ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key ?? '') ? `.${key}` : `[${JSON.stringify(key)}]`;
  }
  return text;
}
