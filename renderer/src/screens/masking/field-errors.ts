// The server names each problem by path: the preview says `rules[1].pattern: ...`, a save
// `masking[1].pattern: ... (rule "ids")`. The editor shows each at its field; a problem with no
// field (or a field the form does not have) is shown at the top of the rule.

/** The form fields errors can land on. */
export type ErrorField = 'name' | 'columns' | 'detect' | 'pattern' | 'strategy' | 'keep_last' | 'replacement' | 'groups' | 'except_groups' | 'derived' | 'rule';

export interface FieldError {
  readonly rule: number;
  readonly field: ErrorField;
  readonly message: string;
}

const FIELDS: ReadonlySet<string> = new Set(['name', 'columns', 'detect', 'pattern', 'strategy', 'keep_last', 'replacement', 'groups', 'except_groups', 'derived']);
const PROBLEM = /(?:^|; |: )((?:masking|rules)\[(\d+)\](?:\.([a-z_]+))?(?:\[(\d+)\])?): /g;

/** The field errors in an API error message; empty when it names no rule (show it as a banner). */
export function fieldErrorsOf(message: string): FieldError[] {
  const starts = [...message.matchAll(PROBLEM)];
  return starts.map((match, index) => {
    const from = match.index + match[0].length;
    const next = starts[index + 1];
    // Each problem runs to the next one's "; " separator, or to the end.
    const to = next ? next.index : message.length;
    const text = message.slice(from, to).replace(/\s*\(rule "[^"]*"\)\s*$/, '').replace(/[;.]\s*$/, '');
    const field = match[3] !== undefined && FIELDS.has(match[3]) ? (match[3] as ErrorField) : 'rule';
    // `columns[2]`: say which entry, as people count.
    const entry = match[4] === undefined ? '' : `entry ${Number(match[4]) + 1}: `;
    return { rule: Number(match[2]), field, message: field === 'rule' && match[3] !== undefined ? `${match[3]}: ${entry}${text}` : `${entry}${text}` };
  });
}

export function errorsFor(errors: readonly FieldError[], rule: number, field: ErrorField): string[] {
  return errors.filter((error) => error.rule === rule && error.field === field).map((error) => error.message);
}
