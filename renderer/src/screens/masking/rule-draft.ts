// A masking rule as the editor holds it: the config's raw mapping (what the file has, sent back
// untouched while nobody edits it, so an unchanged rule stays byte-for-byte in the file) and the
// form fields once someone edits it. Plain data and functions: no React.

export type RuleKind = 'columns' | 'detect' | 'pattern';
export type DerivedChoice = '' | 'deny' | 'approve' | 'detectors';

/** The form's fields, as text the inputs hold (lists parsed only when the rule is built). */
export interface RuleForm {
  readonly name: string;
  readonly kind: RuleKind;
  /** One schema.table.column per line. */
  readonly columns: string;
  readonly detect: readonly string[];
  /** RE2; with kind `detect`, an optional pattern besides the detectors. */
  readonly pattern: string;
  readonly strategy: string;
  readonly keepLast: string;
  readonly replacement: string;
  /** Comma separated. */
  readonly groups: string;
  readonly exceptGroups: string;
  readonly derived: DerivedChoice;
  /** Keys the form has no field for, kept so the server can name them. */
  readonly extra: Readonly<Record<string, unknown>>;
}

export type RawRule = Readonly<Record<string, unknown>>;

export interface DraftRule {
  /** Stable across renames, for React keys and selection. */
  readonly key: string;
  /** The rule as loaded from the file; undefined for a rule added here. */
  readonly original?: RawRule;
  readonly form: RuleForm;
  /** False while the form still holds the original exactly: `original` is what gets sent. */
  readonly edited: boolean;
}

const KNOWN = new Set(['name', 'detect', 'columns', 'pattern', 'strategy', 'keep_last', 'replacement', 'groups', 'except_groups', 'derived']);

export function formOf(rule: RawRule): RuleForm {
  const detect = listOf(rule.detect);
  const kind: RuleKind = rule.columns !== undefined ? 'columns' : rule.detect !== undefined ? 'detect' : rule.pattern !== undefined ? 'pattern' : 'columns';
  return {
    name: textOf(rule.name),
    kind,
    columns: listOf(rule.columns).join('\n'),
    detect,
    pattern: textOf(rule.pattern),
    // YAML reads `strategy: null` as null: that is the null strategy.
    strategy: rule.strategy === null ? 'null' : textOf(rule.strategy),
    keepLast: rule.keep_last === undefined ? '' : textOf(rule.keep_last),
    replacement: textOf(rule.replacement),
    groups: listOf(rule.groups).join(', '),
    exceptGroups: listOf(rule.except_groups).join(', '),
    derived: (['deny', 'approve', 'detectors'] as const).find((value) => value === rule.derived) ?? '',
    extra: Object.fromEntries(Object.entries(rule).filter(([key]) => !KNOWN.has(key))),
  };
}

/** The config mapping the form stands for: only the fields that apply to its kind and strategy. */
export function ruleOf(form: RuleForm): RawRule {
  const rule: Record<string, unknown> = { name: form.name.trim() };
  if (form.kind === 'columns') rule.columns = lines(form.columns);
  if (form.kind === 'detect') rule.detect = form.detect.length === 1 ? form.detect[0] : [...form.detect];
  if (form.kind === 'pattern' || (form.kind === 'detect' && form.pattern !== '')) rule.pattern = form.pattern;
  rule.strategy = form.strategy;
  if (form.strategy === 'partial' && form.keepLast.trim() !== '') rule.keep_last = /^\d+$/.test(form.keepLast.trim()) ? Number(form.keepLast.trim()) : form.keepLast;
  if (form.strategy === 'redact' && form.replacement !== '') rule.replacement = form.replacement;
  const groups = commaList(form.groups);
  const exceptGroups = commaList(form.exceptGroups);
  if (groups.length > 0) rule.groups = groups;
  if (exceptGroups.length > 0) rule.except_groups = exceptGroups;
  if (form.kind === 'columns' && form.derived !== '') rule.derived = form.derived;
  return { ...rule, ...form.extra };
}

/** What is sent and shown: the original while untouched, else the form's rule. */
export function ruleOfDraft(draft: DraftRule): RawRule {
  if (!draft.original) return ruleOf(draft.form);
  if (!draft.edited) return draft.original;
  // Edited back to what the file holds: send the file's own mapping, so the file stays as it is.
  const rule = ruleOf(draft.form);
  return sameRule(rule, draft.original) ? draft.original : rule;
}

/** Same keys and values, whatever their order. */
export function sameRule(a: RawRule, b: RawRule): boolean {
  return JSON.stringify(sorted(a)) === JSON.stringify(sorted(b));
}

let counter = 0;
function nextKey(): string {
  counter += 1;
  return `rule-${counter}`;
}

export function draftsOf(rules: readonly RawRule[]): DraftRule[] {
  return rules.map((rule) => ({ key: nextKey(), original: rule, form: formOf(rule), edited: false }));
}

export function newDraft(existing: readonly DraftRule[], strategies: readonly string[]): DraftRule {
  const names = new Set(existing.map((draft) => draft.form.name));
  let name = 'new-rule';
  for (let n = 2; names.has(name); n++) name = `new-rule-${n}`;
  const form: RuleForm = { ...formOf({}), name, kind: 'detect', detect: ['email'], strategy: strategies.includes('redact') ? 'redact' : (strategies[0] ?? '') };
  return { key: nextKey(), form, edited: true };
}

export function duplicateDraft(existing: readonly DraftRule[], source: DraftRule): DraftRule {
  const names = new Set(existing.map((draft) => draft.form.name));
  let name = `${source.form.name}-copy`;
  for (let n = 2; names.has(name); n++) name = `${source.form.name}-copy-${n}`;
  return { key: nextKey(), form: { ...source.form, name }, edited: true };
}

export function editDraft(draft: DraftRule, change: Partial<RuleForm>): DraftRule {
  return { ...draft, form: { ...draft.form, ...change }, edited: true };
}

/** Names added, removed and changed from `saved` to `drafts`, for the save confirmation. */
export function changesOf(saved: readonly RawRule[], drafts: readonly DraftRule[]): { added: string[]; removed: string[]; changed: string[]; reordered: boolean } {
  const before = new Map(saved.map((rule, index) => [nameOf(rule, index), JSON.stringify(sorted(rule))]));
  const after = drafts.map((draft, index) => [nameOf(ruleOfDraft(draft), index), JSON.stringify(sorted(ruleOfDraft(draft)))] as const);
  const afterNames = new Set(after.map(([name]) => name));
  const added = after.filter(([name]) => !before.has(name)).map(([name]) => name);
  const removed = [...before.keys()].filter((name) => !afterNames.has(name));
  const changed = after.filter(([name, text]) => before.has(name) && before.get(name) !== text).map(([name]) => name);
  const kept = after.map(([name]) => name).filter((name) => before.has(name));
  const order = [...before.keys()].filter((name) => afterNames.has(name));
  return { added, removed, changed, reordered: kept.join('\n') !== order.join('\n') };
}

export function hasChanges(saved: readonly RawRule[], drafts: readonly DraftRule[]): boolean {
  return JSON.stringify(saved.map(sorted)) !== JSON.stringify(drafts.map((draft) => sorted(ruleOfDraft(draft))));
}

/** What the rule matches, in a few words: for the list. */
export function matchSummary(rule: RawRule): string {
  if (rule.columns !== undefined) return listOf(rule.columns).join(', ') || 'no columns';
  const parts: string[] = [];
  if (rule.detect !== undefined) parts.push(listOf(rule.detect).join(', '));
  if (rule.pattern !== undefined) parts.push(`/${textOf(rule.pattern)}/`);
  return parts.join(' + ') || 'nothing yet';
}

export function nameOf(rule: RawRule, index: number): string {
  return typeof rule.name === 'string' && rule.name !== '' ? rule.name : `rule ${index + 1}`;
}

export function listOf(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map(textOf);
}

function textOf(value: unknown): string {
  return value === undefined || value === null ? '' : typeof value === 'string' ? value : JSON.stringify(value);
}

function lines(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function sorted(rule: RawRule): RawRule {
  return Object.fromEntries(Object.entries(rule).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
