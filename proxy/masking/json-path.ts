// JSON field paths: the subset of JSONPath (RFC 9535) that masking rules (`json_paths`) and
// HTTP policy rules (`match.fields`) name values with. Parsed once at config load, then matched
// one step at a time while a document is walked (the streaming masker never holds a document
// whole), so a path is a list of segments and matching is a small automaton over them.
//
//   $.customers[*].email    member `customers`, every element, member `email`
//   $['odd key'].x          a member whose name is not an identifier
//   $.items[0]              one array element
//   $.*  /  $[*]            every member or element
//   $..email                `email` at any depth below
//
// Filters, slices, unions and functions are not supported: config refuses them.

export type PathSelector =
  | { readonly kind: 'name'; readonly name: string }
  | { readonly kind: 'index'; readonly index: number }
  | { readonly kind: 'wild' };

export interface PathSegment {
  /** `..`: the selector applies at any depth below the previous segment. */
  readonly descendant: boolean;
  readonly selector: PathSelector;
}

export interface JsonPath {
  /** As written in config. */
  readonly text: string;
  readonly segments: readonly PathSegment[];
}

/** A step in a document: a member name, or an array index. */
export type PathStep = string | number;

const IDENTIFIER_START = /[A-Za-z_$\u0080-\uffff]/;
const IDENTIFIER_PART = /[A-Za-z0-9_$\-\u0080-\uffff]/;
const MAX_PATH_LENGTH = 512;

/** Why `text` is not a supported JSON path, or undefined when it is (config validation). */
export function jsonPathProblem(text: string): string | undefined {
  try {
    parseJsonPath(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Parses a JSON path; throws an Error whose message says where and what is wrong. */
export function parseJsonPath(text: string): JsonPath {
  if (text.length > MAX_PATH_LENGTH) throw new Error(`is longer than ${MAX_PATH_LENGTH} characters`);
  if (!text.startsWith('$')) throw new Error('must start with "$" (e.g. "$.customers[*].email")');
  const segments: PathSegment[] = [];
  let at = 1;
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${at + 1} of "${text}"; supported: .name, ['name'], [0], [*], .*, ..name`);
  };
  while (at < text.length) {
    let descendant = false;
    if (text.startsWith('..', at)) {
      descendant = true;
      at += 2;
      if (text[at] === '[') {
        segments.push({ descendant, selector: bracket() });
        continue;
      }
    } else if (text[at] === '.') {
      at += 1;
    } else if (text[at] === '[') {
      segments.push({ descendant, selector: bracket() });
      continue;
    } else {
      fail(`unexpected "${text[at]}"`);
    }
    if (text[at] === '*') {
      at += 1;
      segments.push({ descendant, selector: { kind: 'wild' } });
      continue;
    }
    const start = at;
    if (at >= text.length || !IDENTIFIER_START.test(text[at]!)) fail('expected a member name');
    while (at < text.length && IDENTIFIER_PART.test(text[at]!)) at++;
    segments.push({ descendant, selector: { kind: 'name', name: text.slice(start, at) } });
  }
  return { text, segments };

  function bracket(): PathSelector {
    at += 1;
    const c = text[at];
    let selector: PathSelector;
    if (c === '*') {
      at += 1;
      selector = { kind: 'wild' };
    } else if (c === "'" || c === '"') {
      selector = { kind: 'name', name: quoted(c) };
    } else if (c !== undefined && /[0-9]/.test(c)) {
      const start = at;
      while (at < text.length && /[0-9]/.test(text[at]!)) at++;
      const digits = text.slice(start, at);
      if (digits.length > 1 && digits.startsWith('0')) fail('an index has no leading zeros');
      if (digits.length > 9) fail('an index this large');
      selector = { kind: 'index', index: Number(digits) };
    } else {
      selector = fail('expected \'name\', an index or * inside [ ]');
    }
    if (text[at] !== ']') fail('expected "]"');
    at += 1;
    return selector;
  }

  function quoted(quote: string): string {
    at += 1;
    let name = '';
    while (at < text.length && text[at] !== quote) {
      if (text[at] === '\\') {
        const next = text[at + 1];
        if (next === quote || next === '\\') {
          name += next;
          at += 2;
          continue;
        }
        fail('only \\\\ and an escaped quote are supported in a quoted name');
      }
      name += text[at];
      at += 1;
    }
    if (at >= text.length) fail('unterminated quoted name');
    at += 1;
    return name;
  }
}

/**
 * The canonical text of a concrete location in a document, for traces and records:
 * `$.refund.amount`, `$.items[0].sku`, `$['odd key']`.
 */
export function formatPath(steps: readonly PathStep[]): string {
  let text = '$';
  for (const step of steps) {
    if (typeof step === 'number') text += `[${step}]`;
    else if (isIdentifier(step)) text += `.${step}`;
    else text += `['${step.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`;
  }
  return text;
}

function isIdentifier(name: string): boolean {
  if (name.length === 0 || !IDENTIFIER_START.test(name[0]!)) return false;
  for (let i = 1; i < name.length; i++) if (!IDENTIFIER_PART.test(name[i]!)) return false;
  return true;
}

/**
 * A set of paths compiled for matching. A state is a pair (path, segments consumed), packed
 * into one number; a node's states come from its parent's and the step that reached it.
 */
export class PathSet {
  readonly paths: readonly JsonPath[];
  readonly #ignoreCase: boolean;
  /** Per path, its segments' names (lower-cased when ignoring case). */
  readonly #names: readonly (readonly (string | undefined)[])[];
  /** The states of the document root. */
  readonly root: PathStates;

  constructor(paths: readonly JsonPath[], options: { readonly ignoreCase?: boolean } = {}) {
    this.paths = paths;
    this.#ignoreCase = options.ignoreCase === true;
    this.#names = paths.map((path) =>
      path.segments.map((segment) => (segment.selector.kind === 'name' ? (this.#ignoreCase ? segment.selector.name.toLowerCase() : segment.selector.name) : undefined)),
    );
    const states: number[] = [];
    const matched: number[] = [];
    paths.forEach((path, index) => {
      if (path.segments.length === 0) matched.push(index);
      else states.push(pack(index, 0));
    });
    this.root = { states, matched };
  }

  /** The states of the child reached from `parent` by `step`; EMPTY when no path can match below. */
  step(parent: PathStates, step: PathStep): PathStates {
    if (parent.states.length === 0) return EMPTY;
    let states: number[] | undefined;
    let matched: number[] | undefined;
    const name = typeof step === 'string' ? (this.#ignoreCase ? step.toLowerCase() : step) : undefined;
    for (const state of parent.states) {
      const path = state >>> 16;
      const consumed = state & 0xffff;
      const segment = this.paths[path]!.segments[consumed]!;
      // A descendant segment stays armed below every node until it matches.
      if (segment.descendant) (states ??= []).push(state);
      const selector = segment.selector;
      const hit =
        selector.kind === 'wild' ||
        (selector.kind === 'name' ? name !== undefined && this.#names[path]![consumed] === name : step === selector.index);
      if (!hit) continue;
      if (consumed + 1 === this.paths[path]!.segments.length) {
        if (!matched?.includes(path)) (matched ??= []).push(path);
      } else {
        (states ??= []).push(pack(path, consumed + 1));
      }
    }
    if (!states && !matched) return EMPTY;
    return { states: states ? dedupe(states) : NONE, matched: matched ?? NONE };
  }
}

/** Where matching stands at one node: states still open below it, and paths that end at it. */
export interface PathStates {
  readonly states: readonly number[];
  /** Indexes (into PathSet.paths) of the paths matching this node. */
  readonly matched: readonly number[];
}

const NONE: readonly number[] = [];
export const EMPTY: PathStates = { states: NONE, matched: NONE };

function pack(path: number, consumed: number): number {
  return path * 0x10000 + consumed;
}

function dedupe(states: number[]): number[] {
  if (states.length < 2) return states;
  return [...new Set(states)];
}
