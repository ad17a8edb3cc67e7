import type { KeyboardEvent } from 'react';
import { listOf, matchSummary, nameOf, ruleOfDraft, sameRule, type DraftRule } from './rule-draft.js';

// The rules in the order the file holds them (order matters only between rules of equal scope
// and strategy). Arrow keys move the selection; the selected rule opens in the editor.

export interface RuleListProps {
  readonly drafts: readonly DraftRule[];
  readonly selected: string | undefined;
  /** Rule indexes the server found problems in. */
  readonly invalid: ReadonlySet<number>;
  readonly onSelect: (key: string) => void;
}

export function RuleList({ drafts, selected, invalid, onSelect }: RuleListProps) {
  const onKeyDown = (event: KeyboardEvent<HTMLUListElement>) => {
    const at = drafts.findIndex((draft) => draft.key === selected);
    const step = event.key === 'ArrowDown' ? 1 : event.key === 'ArrowUp' ? -1 : 0;
    if (step === 0) return;
    event.preventDefault();
    const next = drafts[Math.min(drafts.length - 1, Math.max(0, at + step))];
    if (next) {
      onSelect(next.key);
      document.getElementById(`rule-item-${next.key}`)?.focus();
    }
  };

  if (drafts.length === 0) {
    return <p className="rule-list-empty muted">No masking rules: every caller sees results as the database returns them. Add a rule to start.</p>;
  }
  return (
    <ul className="rule-list" aria-label="Masking rules" onKeyDown={onKeyDown}>
      {drafts.map((draft, index) => {
        const rule = ruleOfDraft(draft);
        const strategy = typeof rule.strategy === 'string' ? rule.strategy : rule.strategy === null ? 'null' : '?';
        const groups = listOf(rule.groups);
        const except = listOf(rule.except_groups);
        const isSelected = draft.key === selected;
        return (
          <li key={draft.key}>
            <button
              type="button"
              id={`rule-item-${draft.key}`}
              className={`rule-item${isSelected ? ' rule-item-selected' : ''}${invalid.has(index) ? ' rule-item-invalid' : ''}`}
              aria-current={isSelected ? 'true' : undefined}
              tabIndex={isSelected || (selected === undefined && index === 0) ? 0 : -1}
              onClick={() => onSelect(draft.key)}
            >
              <span className="rule-item-top">
                <span className="rule-item-name">{nameOf(rule, index)}</span>
                <span className={`badge strategy-badge strategy-${strategy}`}>{strategy}</span>
              </span>
              <span className="rule-item-match">
                <span className="rule-item-kind">{rule.columns !== undefined ? 'columns' : rule.detect !== undefined ? 'detect' : rule.pattern !== undefined ? 'pattern' : '—'}</span> <code>{matchSummary(rule)}</code>
              </span>
              <span className="rule-item-scope">
                {groups.length > 0 ? `only ${groups.join(', ')}` : 'everyone'}
                {except.length > 0 && ` except ${except.join(', ')}`}
                {typeof rule.derived === 'string' && ` · derived: ${rule.derived}`}
              </span>
              <span className="rule-item-state">
                {invalid.has(index) && <span className="badge badge-deny">problem</span>}
                {!draft.original ? <span className="badge badge-open">new</span> : !sameRule(rule, draft.original) && <span className="badge badge-warn">edited</span>}
              </span>
            </button>
          </li>
        );
      })}
    </ul>
  );
}
