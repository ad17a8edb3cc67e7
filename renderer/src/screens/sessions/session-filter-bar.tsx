import { useEffect, useRef, useState } from 'react';
import { MARKS, NO_FILTERS, PROTOCOLS, STATUSES, isFiltered, type SessionFilters } from './session-filters.js';

// The filters above the sessions table. Text fields apply a moment after typing stops; the
// others at once. Every change goes to the route (the caller navigates), so the URL is the view.

const TEXT_DELAY_MS = 300;

const MARK_LABELS: Readonly<Record<string, string>> = { denial: 'a denial', approval: 'an approval', masking: 'masking', error: 'an error' };

export interface SessionFilterBarProps {
  readonly filters: SessionFilters;
  readonly onChange: (filters: SessionFilters) => void;
  /** Resource names to suggest. */
  readonly resources: readonly string[];
}

type TextKey = 'search' | 'resource' | 'identity';

export function SessionFilterBar({ filters, onChange, resources }: SessionFilterBarProps) {
  const [text, setText] = useState<Record<TextKey, string>>(() => textOf(filters));
  const pushed = useRef(textOf(filters));
  const latest = useRef(filters);
  latest.current = filters;

  // The route changed under us (back button, a pasted link): show what it says.
  useEffect(() => {
    const fromRoute = textOf(filters);
    if (!sameText(fromRoute, pushed.current)) {
      pushed.current = fromRoute;
      setText(fromRoute);
    }
  }, [filters]);

  useEffect(() => {
    if (sameText(text, pushed.current)) return;
    const timer = setTimeout(() => {
      pushed.current = text;
      onChange({ ...withoutText(latest.current), ...textFilters(text) });
    }, TEXT_DELAY_MS);
    return () => clearTimeout(timer);
  }, [text, onChange]);

  const set = (patch: Partial<SessionFilters>) => onChange({ ...latest.current, ...textFilters(text), ...patch });
  const toggleMark = (mark: (typeof MARKS)[number]) => set({ had: filters.had.includes(mark) ? filters.had.filter((m) => m !== mark) : [...filters.had, mark] });

  return (
    <form className="session-filters" role="search" aria-label="Filter sessions" onSubmit={(event) => event.preventDefault()}>
      <div className="filter-field filter-search">
        <label htmlFor="filter-search">Statements containing</label>
        <input id="filter-search" type="search" value={text.search} placeholder="e.g. DROP TABLE, customers" onChange={(event) => setText({ ...text, search: event.target.value })} autoComplete="off" spellCheck={false} />
      </div>
      <div className="filter-field">
        <label htmlFor="filter-resource">Resource</label>
        <input id="filter-resource" list="filter-resources" value={text.resource} placeholder="any" onChange={(event) => setText({ ...text, resource: event.target.value })} autoComplete="off" spellCheck={false} />
        <datalist id="filter-resources">
          {resources.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </div>
      <div className="filter-field">
        <label htmlFor="filter-identity">Caller</label>
        <input id="filter-identity" value={text.identity} placeholder="part of the subject" onChange={(event) => setText({ ...text, identity: event.target.value })} autoComplete="off" spellCheck={false} />
      </div>
      <div className="filter-field">
        <label htmlFor="filter-protocol">Protocol</label>
        <select id="filter-protocol" value={filters.protocol ?? ''} onChange={(event) => set({ protocol: (event.target.value || undefined) as SessionFilters['protocol'] })}>
          <option value="">any</option>
          {PROTOCOLS.map((protocol) => (
            <option key={protocol} value={protocol}>
              {protocol}
            </option>
          ))}
        </select>
      </div>
      <div className="filter-field">
        <label htmlFor="filter-status">Status</label>
        <select id="filter-status" value={filters.status ?? ''} onChange={(event) => set({ status: (event.target.value || undefined) as SessionFilters['status'] })}>
          <option value="">any</option>
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </div>
      <div className="filter-field">
        <label htmlFor="filter-since">Started from</label>
        <input id="filter-since" type="datetime-local" value={toLocalInput(filters.since)} onChange={(event) => set({ since: fromLocalInput(event.target.value) })} />
      </div>
      <div className="filter-field">
        <label htmlFor="filter-until">Started before</label>
        <input id="filter-until" type="datetime-local" value={toLocalInput(filters.until)} onChange={(event) => set({ until: fromLocalInput(event.target.value) })} />
      </div>
      <fieldset className="filter-marks">
        <legend>Had</legend>
        {MARKS.map((mark) => (
          <label key={mark} className={`mark-toggle mark-toggle-${mark}`}>
            <input type="checkbox" checked={filters.had.includes(mark)} onChange={() => toggleMark(mark)} /> {MARK_LABELS[mark]}
          </label>
        ))}
      </fieldset>
      <div className="filter-actions">
        <button
          type="button"
          className="button button-quiet"
          disabled={!isFiltered(filters) && !text.search && !text.resource && !text.identity}
          onClick={() => {
            const cleared = textOf(NO_FILTERS);
            pushed.current = cleared;
            setText(cleared);
            onChange({ ...NO_FILTERS, limit: filters.limit });
          }}
        >
          Clear filters
        </button>
      </div>
    </form>
  );
}

function textOf(filters: SessionFilters): Record<TextKey, string> {
  return { search: filters.search ?? '', resource: filters.resource ?? '', identity: filters.identity ?? '' };
}

function sameText(a: Record<TextKey, string>, b: Record<TextKey, string>): boolean {
  return a.search === b.search && a.resource === b.resource && a.identity === b.identity;
}

function textFilters(text: Record<TextKey, string>): Partial<SessionFilters> {
  const trimmed = (value: string) => value.trim() || undefined;
  return { search: trimmed(text.search), resource: trimmed(text.resource), identity: trimmed(text.identity) };
}

function withoutText(filters: SessionFilters): SessionFilters {
  const { search: _search, resource: _resource, identity: _identity, ...rest } = filters;
  return rest;
}

/** epoch ms -> the local "YYYY-MM-DDTHH:mm" a datetime-local input shows. */
export function toLocalInput(ms: number | undefined): string {
  if (ms === undefined) return '';
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local value (local time) -> epoch ms; undefined when empty or invalid. */
export function fromLocalInput(value: string): number | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isFinite(ms) ? ms : undefined;
}
