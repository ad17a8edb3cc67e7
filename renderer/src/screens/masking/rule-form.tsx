import type { ReactNode } from 'react';
import { errorsFor, type ErrorField, type FieldError } from './field-errors.js';
import type { DerivedChoice, DraftRule, RuleForm as RuleFields, RuleKind } from './rule-draft.js';

// The editor for one rule: what it matches (columns, detectors or a pattern), how it masks
// (only the strategy's own options are shown), and for whom. Problems the server names land
// under their field.

export interface RuleFormProps {
  readonly draft: DraftRule;
  readonly index: number;
  readonly detectors: readonly string[];
  readonly strategies: readonly string[];
  readonly errors: readonly FieldError[];
  readonly onChange: (change: Partial<RuleFields>) => void;
}

const KINDS: readonly { readonly value: RuleKind; readonly label: string; readonly hint: string }[] = [
  { value: 'columns', label: 'Columns', hint: 'whole values of these source columns, whatever the query calls them' },
  { value: 'detect', label: 'Detectors', hint: 'sensitive text found anywhere in a result (emails, cards, keys, ...)' },
  { value: 'pattern', label: 'Pattern', hint: 'text matching your own RE2 pattern, anywhere in a result' },
];

const STRATEGY_WORDS: Readonly<Record<string, string>> = {
  redact: 'Replaces the value with a fixed text.',
  partial: 'Keeps the last characters (an email keeps its domain); short values are starred whole.',
  hash: 'The same keyed hash for the same value, so joins and GROUP BY still work.',
  null: 'The value becomes NULL.',
  fake: 'A realistic stand-in of the same shape.',
};

const DERIVED: readonly { readonly value: DerivedChoice; readonly label: string }[] = [
  { value: '', label: 'default (deny)' },
  { value: 'deny', label: 'deny the statement' },
  { value: 'approve', label: 'hold it for approval' },
  { value: 'detectors', label: 'let it through, detectors only' },
];

export function RuleForm({ draft, index, detectors, strategies, errors, onChange }: RuleFormProps) {
  const form = draft.form;
  const id = (field: string) => `${draft.key}-${field}`;
  const at = (field: ErrorField) => errorsFor(errors, index, field);
  const ruleErrors = at('rule');

  return (
    <form className="rule-form" aria-label={`Rule ${form.name || index + 1}`} onSubmit={(event) => event.preventDefault()} noValidate>
      {ruleErrors.length > 0 && (
        <div className="error-banner" role="alert">
          {ruleErrors.map((message) => (
            <div key={message}>{message}</div>
          ))}
        </div>
      )}

      <Field id={id('name')} label="Name" errors={at('name')} hint="Unique; shown in audit records and result previews.">
        <input id={id('name')} value={form.name} onChange={(event) => onChange({ name: event.target.value })} spellCheck={false} autoComplete="off" {...invalid(id('name'), at('name'))} />
      </Field>

      <fieldset className="rule-kind">
        <legend>Masks</legend>
        <div className="segmented" role="radiogroup" aria-label="What the rule masks">
          {KINDS.map((kind) => (
            <label key={kind.value} className={form.kind === kind.value ? 'segment segment-on' : 'segment'}>
              <input type="radio" name={id('kind')} value={kind.value} checked={form.kind === kind.value} onChange={() => onChange({ kind: kind.value })} />
              {kind.label}
            </label>
          ))}
        </div>
        <p className="hint">{KINDS.find((kind) => kind.value === form.kind)?.hint}</p>
      </fieldset>

      {form.kind === 'columns' && (
        <Field id={id('columns')} label="Column list" errors={at('columns')} hint="One schema.table.column per line; * globs, e.g. billing.*.card_number.">
          <textarea id={id('columns')} rows={3} value={form.columns} onChange={(event) => onChange({ columns: event.target.value })} spellCheck={false} placeholder="public.users.ssn" {...invalid(id('columns'), at('columns'))} />
        </Field>
      )}

      {form.kind === 'detect' && (
        <fieldset className="detectors" aria-describedby={at('detect').length > 0 ? `${id('detect')}-error` : undefined}>
          <legend>Detectors to use</legend>
          <div className="detector-grid">
            {detectors.map((name) => (
              <label key={name} className="check">
                <input
                  type="checkbox"
                  checked={form.detect.includes(name)}
                  onChange={(event) => onChange({ detect: event.target.checked ? detectors.filter((d) => d === name || form.detect.includes(d)) : form.detect.filter((d) => d !== name) })}
                />
                <code>{name}</code>
              </label>
            ))}
          </div>
          <Errors id={`${id('detect')}-error`} messages={at('detect')} />
        </fieldset>
      )}

      {(form.kind === 'pattern' || form.kind === 'detect') && (
        <Field
          id={id('pattern')}
          label={form.kind === 'detect' ? 'RE2 pattern (optional, besides the detectors)' : 'RE2 pattern'}
          errors={at('pattern')}
          hint="RE2 syntax (no look-around or back-references), matched anywhere in a value."
        >
          <input id={id('pattern')} className="mono" value={form.pattern} onChange={(event) => onChange({ pattern: event.target.value })} spellCheck={false} autoComplete="off" placeholder="ACME-\d{6}" {...invalid(id('pattern'), at('pattern'))} />
        </Field>
      )}

      <div className="field-row">
        <Field id={id('strategy')} label="Strategy" errors={at('strategy')} hint={STRATEGY_WORDS[form.strategy] ?? 'What replaces a masked value.'}>
          <select id={id('strategy')} value={form.strategy} onChange={(event) => onChange({ strategy: event.target.value })} {...invalid(id('strategy'), at('strategy'))}>
            {!strategies.includes(form.strategy) && <option value={form.strategy}>{form.strategy || 'choose…'}</option>}
            {strategies.map((strategy) => (
              <option key={strategy} value={strategy}>
                {strategy}
              </option>
            ))}
          </select>
        </Field>
        {form.strategy === 'partial' && (
          <Field id={id('keep_last')} label="Keep last" errors={at('keep_last')} hint="Characters left visible (default 4).">
            <input id={id('keep_last')} className="narrow" inputMode="numeric" value={form.keepLast} placeholder="4" onChange={(event) => onChange({ keepLast: event.target.value })} {...invalid(id('keep_last'), at('keep_last'))} />
          </Field>
        )}
        {form.strategy === 'redact' && (
          <Field id={id('replacement')} label="Replacement" errors={at('replacement')} hint="Default [redacted] (or [redacted:detector]).">
            <input id={id('replacement')} value={form.replacement} placeholder="[redacted]" onChange={(event) => onChange({ replacement: event.target.value })} spellCheck={false} {...invalid(id('replacement'), at('replacement'))} />
          </Field>
        )}
      </div>

      <div className="field-row">
        <Field id={id('groups')} label="Only for groups" errors={at('groups')} hint="Comma separated; empty: everyone.">
          <input id={id('groups')} value={form.groups} onChange={(event) => onChange({ groups: event.target.value })} spellCheck={false} placeholder="everyone" {...invalid(id('groups'), at('groups'))} />
        </Field>
        <Field id={id('except_groups')} label="Except groups" errors={at('except_groups')} hint="Comma separated; they see the value.">
          <input id={id('except_groups')} value={form.exceptGroups} onChange={(event) => onChange({ exceptGroups: event.target.value })} spellCheck={false} placeholder="nobody" {...invalid(id('except_groups'), at('except_groups'))} />
        </Field>
      </div>

      {form.kind === 'columns' && (
        <Field id={id('derived')} label="A statement computing from these columns" errors={at('derived')} hint="lower(ssn), to_jsonb(u), UNION, CREATE TABLE AS …: the value arrives without its column.">
          <select id={id('derived')} value={form.derived} onChange={(event) => onChange({ derived: event.target.value as DerivedChoice })} {...invalid(id('derived'), at('derived'))}>
            {DERIVED.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </Field>
      )}
    </form>
  );
}

function Field({ id, label, hint, errors, children }: { id: string; label: string; hint?: string; errors: readonly string[]; children: ReactNode }) {
  return (
    <div className={errors.length > 0 ? 'field field-invalid' : 'field'}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <Errors id={`${id}-error`} messages={errors} />
    </div>
  );
}

function Errors({ id, messages }: { id: string; messages: readonly string[] }) {
  if (messages.length === 0) return null;
  return (
    // Not an alert: the preview re-checks on every keystroke, and the field says it on focus (aria-describedby).
    <p className="field-error" id={id}>
      {messages.join('; ')}
    </p>
  );
}

function invalid(id: string, errors: readonly string[]): { 'aria-invalid'?: true; 'aria-describedby': string } {
  return errors.length > 0 ? { 'aria-invalid': true, 'aria-describedby': `${id}-error ${id}-hint` } : { 'aria-describedby': `${id}-hint` };
}
