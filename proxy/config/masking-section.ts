import { Document, isAlias, isMap, isScalar, isSeq, Pair, parseDocument, Scalar, visit, YAMLMap, YAMLSeq, type Node, type ParsedNode } from 'yaml';
import { canonicalJson } from '../common/canonical-json.js';

// The `masking:` section of a config file, read and replaced as text. Everything outside the
// section stays byte-for-byte (comments, key order, quoting, `${env:X}` references): the new
// section is spliced into the source where the old one stood, and the splice is checked by
// parsing the result. Rules that did not change keep their YAML nodes, so their comments and
// layout survive too.

export interface MaskingSection {
  /** The rules as YAML's data model holds them (aliases resolved). */
  readonly rules: readonly Readonly<Record<string, unknown>>[];
  /** The section's text as it stands in the file (empty when the file has no `masking:` key). */
  readonly yaml: string;
}

/** The file's text cannot be read as a config (invalid YAML, or `masking:` is not a list of mappings). */
export class MaskingSectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MaskingSectionError';
  }
}

/** Keys in the order a rule reads best: what it is, what it matches, how it masks, for whom. */
const KEY_ORDER = ['name', 'detect', 'columns', 'json_paths', 'pattern', 'strategy', 'keep_last', 'replacement', 'groups', 'except_groups', 'derived'];
const PARSE_OPTIONS = { uniqueKeys: true, prettyErrors: false } as const;
const TO_JS = { maxAliasCount: 100 } as const;

export function readMaskingSection(source: string): MaskingSection {
  const doc = parseStrict(source);
  const pair = maskingPair(doc);
  if (!pair) return { rules: [], yaml: '' };
  const value: unknown = pair.value === null ? null : (pair.value as Node).toJS(doc, TO_JS);
  if (value === null || value === undefined) return { rules: [], yaml: sectionText(source, pair) };
  if (!Array.isArray(value)) throw new MaskingSectionError('masking: is not a list of rules');
  value.forEach((rule, index) => {
    if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) throw new MaskingSectionError(`masking[${index}]: is not a mapping (name, strategy, ...)`);
  });
  return { rules: value as Record<string, unknown>[], yaml: sectionText(source, pair) };
}

/**
 * The config text with its `masking:` section replaced by `rules`. Throws MaskingSectionError
 * when the source is not a YAML mapping; the rules themselves are not validated here.
 */
export function replaceMaskingSection(source: string, rules: readonly unknown[]): string {
  const doc = parseStrict(source);
  if (doc.contents !== null && !isMap(doc.contents)) throw new MaskingSectionError('the config file does not hold a mapping of keys');
  const pair = maskingPair(doc);
  const seq = sectionNode(doc, pair, rules);
  const expected = canonicalJson(rules);
  const others = canonicalJson(withoutMasking(doc));

  const spliced = splice(source, doc, pair, seq);
  if (spliced !== undefined && holds(spliced, expected, others)) return spliced;
  // The splice could not stand (a flow-style root, a comment in an odd place): let the
  // document write the whole file. Comments stay, but the layout elsewhere may change.
  // The parsed document is only written out from here on: its nodes need not stay `Parsed`.
  if (pair) (pair as Pair<unknown, unknown>).value = seq;
  else doc.set('masking', seq);
  const whole = doc.toString({ lineWidth: 0 });
  if (holds(whole, expected, others)) return whole;
  throw new MaskingSectionError('the masking rules could not be written back as YAML that reads the same');
}

function parseStrict(source: string): Document.Parsed {
  const doc = parseDocument(source, PARSE_OPTIONS);
  if (doc.errors.length > 0) throw new MaskingSectionError(`the config file is not valid YAML: ${firstLine(doc.errors[0]!.message)}`);
  return doc;
}

function maskingPair(doc: Document): Pair<ParsedNode, ParsedNode | null> | undefined {
  if (!isMap(doc.contents)) return undefined;
  return (doc.contents.items as Pair<ParsedNode, ParsedNode | null>[]).find((item) => isScalar(item.key) && item.key.value === 'masking');
}

/** From the key to the end of its value (trailing comments below it belong to what follows). */
function sectionText(source: string, pair: Pair<ParsedNode, ParsedNode | null>): string {
  return source.slice(pair.key.range[0], spanEnd(source, pair)).trimEnd() + '\n';
}

function spanEnd(source: string, pair: Pair<ParsedNode, ParsedNode | null>): number {
  const end = pair.value?.range[1] ?? pair.key.range[1];
  // A value that ends mid-line (`masking: []`, `masking: # none`): take the rest of the line too.
  if (end > 0 && source[end - 1] === '\n') return end;
  const newline = source.indexOf('\n', end);
  return newline === -1 ? source.length : newline + 1;
}

/** The new section: old nodes for rules that did not change, new ones in the section's style for the rest. */
function sectionNode(doc: Document, pair: Pair<ParsedNode, ParsedNode | null> | undefined, rules: readonly unknown[]): YAMLSeq {
  const old = pair?.value;
  const reusable = new Map<string, Node[]>();
  let flowItems = false;
  if (isSeq(old)) {
    flowItems = old.items.length > 0 && old.items.every((item) => isMap(item) && item.flow === true);
    for (const item of old.items as Node[]) {
      if (containsAlias(item)) continue;
      const key = canonicalJson(item.toJS(doc, TO_JS));
      reusable.set(key, [...(reusable.get(key) ?? []), item]);
    }
  }
  const seq = new YAMLSeq();
  // Comments above the first rule and on the `masking:` line sit on the old value.
  const before = [old?.commentBefore, old && !isSeq(old) ? old.comment : undefined].filter((text): text is string => typeof text === 'string' && text !== '');
  if (before.length > 0) seq.commentBefore = before.join('\n');
  for (const rule of rules) {
    const again = reusable.get(canonicalJson(rule))?.shift();
    seq.items.push(again ?? ruleNode(doc, rule, flowItems));
  }
  if (rules.length === 0) seq.flow = true;
  return seq;
}

function ruleNode(doc: Document, rule: unknown, flow: boolean): Node {
  const ordered =
    rule !== null && typeof rule === 'object' && !Array.isArray(rule)
      ? Object.fromEntries(Object.entries(rule).sort(([a], [b]) => rank(a) - rank(b)))
      : rule;
  const node = doc.createNode(ordered) as Node;
  if (isMap(node)) {
    node.flow = flow;
    // Lists inside a rule (columns, detectors, groups) read best on one line.
    for (const item of node.items) if (isSeq(item.value)) item.value.flow = true;
  }
  return node;
}

function rank(key: string): number {
  const index = KEY_ORDER.indexOf(key);
  return index === -1 ? KEY_ORDER.length : index;
}

function containsAlias(node: Node): boolean {
  let found = false;
  visit(node, {
    Alias() {
      found = true;
      return visit.BREAK;
    },
  });
  return found || isAlias(node);
}

/** Replaces the old section's text with the new one's, or appends the section when there was none. */
function splice(source: string, doc: Document.Parsed, pair: Pair<ParsedNode, ParsedNode | null> | undefined, seq: YAMLSeq): string | undefined {
  if (doc.contents !== null && !(isMap(doc.contents) && !doc.contents.flow)) return undefined;
  const section = new Document();
  section.contents = new YAMLMap();
  section.contents.items.push(new Pair(new Scalar('masking'), seq));
  const text = section.toString({ lineWidth: 0 });
  if (!pair) return source === '' || source.endsWith('\n') ? source + text : `${source}\n${text}`;
  // A top-level key starts its line; anything else (a document marker before it) is left to the fallback.
  const start = pair.key.range[0];
  if (start > 0 && source[start - 1] !== '\n') return undefined;
  return source.slice(0, start) + text + source.slice(spanEnd(source, pair));
}

/** True when `source` parses, holds exactly `expected` as masking and everything else as before. */
function holds(source: string, expected: string, others: string): boolean {
  const doc = parseDocument(source, PARSE_OPTIONS);
  if (doc.errors.length > 0) return false;
  const masking: unknown = doc.get('masking', true) === undefined ? [] : (doc.get('masking', true) as Node).toJS(doc, TO_JS);
  return canonicalJson(masking ?? []) === expected && canonicalJson(withoutMasking(doc)) === others;
}

function withoutMasking(doc: Document): unknown {
  const tree: unknown = doc.toJS(TO_JS);
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree)) return tree ?? null;
  const { masking: _masking, ...rest } = tree as Record<string, unknown>;
  return rest;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
