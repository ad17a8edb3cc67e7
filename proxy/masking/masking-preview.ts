import { maskingRulesSchema } from '../config/schema.js';
import type { ColumnOrigin, SourceColumn } from './catalog-types.js';
import { MaskingRules } from './masking-rules.js';

// The rule editor's preview: a draft rule set applied to rows, with per cell the rules that fired.
// Rows come from the editor (a sample) or from a live query the engine ran for the caller.

export interface PreviewColumn {
  readonly name: string;
  /** The base-table columns its values come from, as column rules name them (`schema.table.column`). */
  readonly sources?: readonly string[];
}

export interface PreviewInput {
  /** Draft rules, shaped as the config's `masking:` section. */
  readonly rules: readonly unknown[];
  /** Preview as a caller in these groups (rules scoped by groups / except_groups). */
  readonly groups: readonly string[];
  readonly columns: readonly PreviewColumn[];
  readonly rows: readonly (readonly (string | null)[])[];
}

export interface PreviewCell {
  readonly value: string | null;
  /** The rules that changed this cell (none: shown as it is). */
  readonly rules: readonly string[];
}

export interface PreviewResult {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly PreviewCell[])[];
}

/** Why a draft rule set is invalid: each problem names the rule and field (`rules[2].pattern: ...`). */
export class PreviewRulesError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the draft masking rules are invalid: ${problems.join('; ')}`);
    this.name = 'PreviewRulesError';
  }
}

export function previewMasking(input: PreviewInput, key: Buffer): PreviewResult {
  const parsed = maskingRulesSchema.safeParse(input.rules);
  if (!parsed.success) {
    throw new PreviewRulesError(parsed.error.issues.map((issue) => `${['rules', ...issue.path].map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join('')}: ${issue.message}`));
  }
  const profile = new MaskingRules(parsed.data, key).profileFor(input.groups);
  const actions = input.columns.map((column) => profile.columnAction(originOf(column)));
  return {
    columns: input.columns.map((column) => column.name),
    rows: input.rows.map((row) =>
      input.columns.map((_, index): PreviewCell => {
        const value = row[index] ?? null;
        if (value === null) return { value, rules: [] };
        const column = actions[index];
        if (column) return { value: column.nulls ? null : column.apply(value), rules: [column.rule] };
        const hits = new Map<string, number>();
        const masked = profile.content.empty ? undefined : profile.content.mask(value, hits);
        return masked === undefined ? { value, rules: [] } : { value: masked, rules: [...hits.keys()] };
      }),
    ),
  };
}

function originOf(column: PreviewColumn): ColumnOrigin {
  const sources: SourceColumn[] = (column.sources ?? []).flatMap((name) => {
    const [schema, table, col] = name.split('.');
    return schema && table && col ? [{ schema, table, column: col }] : [];
  });
  return { sources, derived: false };
}
