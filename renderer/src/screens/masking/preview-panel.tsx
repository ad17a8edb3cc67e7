import type { PreviewCell } from '../../../../proxy/api/api-contract.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import type { PreviewState } from './use-preview.js';

// The live preview: sample rows (editable) or a live query's first rows, each cell as the draft
// rules leave it, masked cells marked with the rules that fired. Cells the selected rule masked
// are marked more strongly, so the effect of the rule being edited stands out.

export interface SampleColumn {
  readonly name: string;
  /** schema.table.column, for column rules (empty: the value comes from no known column). */
  readonly source: string;
}

export interface Sample {
  readonly columns: readonly SampleColumn[];
  readonly rows: readonly (readonly string[])[];
}

export const DEFAULT_SAMPLE: Sample = {
  columns: [
    { name: 'name', source: '' },
    { name: 'email', source: '' },
    { name: 'card', source: '' },
    { name: 'ssn', source: '' },
    { name: 'notes', source: '' },
  ],
  rows: [
    ['Ada Lovelace', 'ada@example.com', '4111 1111 1111 1111', '123-45-6789', 'call ada.l@example.org about the invoice'],
    ['Alan Turing', 'alan.turing@example.org', '5555 5555 5555 4444', '234-56-7890', 'no contact details here'],
  ],
};

export interface LiveQuery {
  readonly resource: string;
  readonly sql: string;
}

export interface PreviewPanelProps {
  readonly mode: 'sample' | 'query';
  readonly onMode: (mode: 'sample' | 'query') => void;
  readonly sample: Sample;
  readonly onSample: (sample: Sample) => void;
  /** Column names the draft's column rules list: offered as sources. */
  readonly knownColumns: readonly string[];
  readonly query: LiveQuery;
  readonly onQuery: (query: LiveQuery) => void;
  /** The query the preview runs (set by Run); undefined until then. */
  readonly runQuery: () => void;
  readonly queryActive: boolean;
  readonly groups: string;
  readonly onGroups: (groups: string) => void;
  readonly state: PreviewState;
  readonly selectedRule: string | undefined;
}

export function PreviewPanel(props: PreviewPanelProps) {
  const { mode, onMode, state, groups, onGroups } = props;
  const masked = state.result ? state.result.rows.reduce((n, row) => n + row.filter((cell) => cell.rules.length > 0).length, 0) : 0;
  const status =
    state.status === 'loading' ? 'Updating the preview…' : state.status === 'ok' && state.result ? `${masked} cell${masked === 1 ? '' : 's'} masked by the draft rules` : state.ruleErrors.length > 0 ? 'The draft has problems: fix the fields marked in red to update the preview.' : '';

  return (
    <section className="preview card" aria-labelledby="preview-title">
      <header className="preview-head">
        <h2 id="preview-title">Preview</h2>
        <div className="segmented" role="radiogroup" aria-label="Preview on">
          {(['sample', 'query'] as const).map((value) => (
            <label key={value} className={mode === value ? 'segment segment-on' : 'segment'}>
              <input type="radio" name="preview-mode" value={value} checked={mode === value} onChange={() => onMode(value)} />
              {value === 'sample' ? 'Sample rows' : 'Live query'}
            </label>
          ))}
        </div>
        <label className="preview-groups">
          Preview as groups
          <input value={groups} onChange={(event) => onGroups(event.target.value)} placeholder="none (a caller in no group)" spellCheck={false} />
        </label>
        <p className={`preview-status${state.ruleErrors.length > 0 ? ' preview-status-problem' : ''}`} role="status" aria-live="polite">
          {status}
        </p>
      </header>
      {state.error && <ErrorBanner error={state.error} action="Preview failed" />}
      <div className={state.ruleErrors.length > 0 ? 'preview-stale' : undefined}>{mode === 'sample' ? <SampleTable {...props} /> : <QueryPreview {...props} />}</div>
    </section>
  );
}

function SampleTable({ sample, onSample, knownColumns, state, selectedRule }: PreviewPanelProps) {
  const cells = state.source === 'sample' ? state.result?.rows : undefined;
  const setColumn = (index: number, change: Partial<SampleColumn>) => onSample({ ...sample, columns: sample.columns.map((column, i) => (i === index ? { ...column, ...change } : column)) });
  const setCell = (row: number, column: number, value: string) => onSample({ ...sample, rows: sample.rows.map((cells, r) => (r === row ? cells.map((cell, c) => (c === column ? value : cell)) : cells)) });
  // One line per column, one column per sample row: each value sits right above what the draft makes of it.
  return (
    <div className="sample">
      <datalist id="sample-source-columns">
        {knownColumns.map((name) => (
          <option key={name} value={name} />
        ))}
      </datalist>
      <div className="table-scroll">
        <table className="data sample-table">
          <thead>
            <tr>
              <th scope="col" className="sample-column-head">
                Column <span className="muted">· source</span>
              </th>
              {sample.rows.map((_, r) => (
                <th key={r} scope="col">
                  <span className="sample-row-head">
                    Sample {r + 1}
                    <button type="button" className="button button-quiet sample-remove" aria-label={`Remove sample ${r + 1}`} title={`Remove sample ${r + 1}`} onClick={() => onSample({ ...sample, rows: sample.rows.filter((_, i) => i !== r) })} disabled={sample.rows.length <= 1}>
                      ✕
                    </button>
                  </span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {sample.columns.map((column, c) => (
              <tr key={c}>
                <th scope="row">
                  <input className="sample-name" aria-label={`Column ${c + 1} name`} value={column.name} onChange={(event) => setColumn(c, { name: event.target.value })} spellCheck={false} />
                  <input
                    className="sample-source mono"
                    aria-label={`Column ${column.name || c + 1}: source column`}
                    title="The source column (schema.table.column) the value comes from: column rules match on it"
                    list="sample-source-columns"
                    value={column.source}
                    placeholder="from schema.table.column"
                    onChange={(event) => setColumn(c, { source: event.target.value })}
                    spellCheck={false}
                  />
                </th>
                {sample.rows.map((row, r) => (
                  <td key={r}>
                    <input className="sample-value" aria-label={`${column.name || `column ${c + 1}`}, sample ${r + 1}`} value={row[c] ?? ''} onChange={(event) => setCell(r, c, event.target.value)} spellCheck={false} />
                    <CellOut cell={cells?.[r]?.[c]} row={r} column={column.name} selectedRule={selectedRule} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <button type="button" className="button" onClick={() => onSample({ ...sample, rows: [...sample.rows, sample.columns.map(() => '')] })} disabled={sample.rows.length >= 4}>
        Add a sample
      </button>
    </div>
  );
}

function QueryPreview({ query, onQuery, runQuery, queryActive, state, selectedRule }: PreviewPanelProps) {
  const result = state.source === 'query' ? state.result : undefined;
  return (
    <div className="live-query">
      <form
        className="live-query-form"
        onSubmit={(event) => {
          event.preventDefault();
          runQuery();
        }}
      >
        <label>
          Resource
          <input value={query.resource} onChange={(event) => onQuery({ ...query, resource: event.target.value })} placeholder="prod-db" spellCheck={false} required />
        </label>
        <label className="live-query-sql">
          SELECT (runs read-only, as you, first 20 rows)
          <textarea
            rows={2}
            value={query.sql}
            onChange={(event) => onQuery({ ...query, sql: event.target.value })}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
                event.preventDefault();
                runQuery();
              }
            }}
            placeholder="SELECT * FROM customers"
            spellCheck={false}
            required
          />
        </label>
        <button type="submit" className="button button-primary" disabled={query.resource.trim() === '' || query.sql.trim() === ''}>
          Run preview
        </button>
        <span className="muted key-hint">
          <kbd>Ctrl</kbd>+<kbd>Enter</kbd> in the query
        </span>
      </form>
      {!queryActive ? (
        <p className="muted">Runs your SELECT on the resource (policy must allow it for you) and shows its first rows as the draft rules would mask them. Nothing is written.</p>
      ) : (
        result && (
          <div className="table-scroll">
            <table className="data result-table">
              <thead>
                <tr>
                  {result.columns.map((name, index) => (
                    <th key={index} scope="col">
                      {name}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {result.rows.length === 0 ? (
                  <tr>
                    <td colSpan={Math.max(1, result.columns.length)} className="muted">
                      The query returned no rows.
                    </td>
                  </tr>
                ) : (
                  result.rows.map((row, r) => (
                    <tr key={r}>
                      {row.map((cell, c) => (
                        <td key={c}>
                          <CellOut cell={cell} row={r} column={result.columns[c] ?? ''} selectedRule={selectedRule} showUnchanged />
                        </td>
                      ))}
                    </tr>
                  ))
                )}
              </tbody>
            </table>
          </div>
        )
      )}
    </div>
  );
}

function CellOut({ cell, row, column, selectedRule, showUnchanged = false }: { cell: PreviewCell | undefined; row: number; column: string; selectedRule: string | undefined; showUnchanged?: boolean }) {
  if (!cell) return <div className="cell-out cell-pending" data-row={row} data-column={column} aria-hidden="true" />;
  const masked = cell.rules.length > 0;
  const bySelected = selectedRule !== undefined && cell.rules.includes(selectedRule);
  return (
    <div className={`cell-out${masked ? ' cell-masked' : ''}${bySelected ? ' cell-selected-rule' : ''}`} data-row={row} data-column={column} data-rules={cell.rules.join(' ')}>
      {masked || showUnchanged ? (
        <span className="cell-value">{cell.value === null ? <span className="cell-null">NULL</span> : cell.value}</span>
      ) : (
        <span className="cell-unchanged">not masked</span>
      )}
      {masked && (
        <span className="cell-rules">
          <span className="visually-hidden">masked by </span>
          {cell.rules.map((name) => (
            <span key={name} className="rule-chip">
              {name}
            </span>
          ))}
        </span>
      )}
    </div>
  );
}
