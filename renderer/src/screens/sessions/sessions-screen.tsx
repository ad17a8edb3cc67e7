import { useCallback, useMemo } from 'react';
import { navigate } from '../../app/routes.js';
import type { EngineClient } from '../../engine-client.js';
import { EmptyState } from '../../ui/empty-state.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import { formatCount } from '../../ui/format.js';
import { useCall } from '../../ui/use-call.js';
import { SessionFilterBar } from './session-filter-bar.js';
import { filtersFromQuery, isFiltered, MAX_LIMIT, NO_FILTERS, queryFromFilters, type SessionFilters } from './session-filters.js';
import { SessionsTable } from './sessions-table.js';
import { useSessionList } from './use-session-list.js';
import './sessions.css';

// #/sessions: every recorded session, newest first, filtered by what the route's query says and
// kept current by the engine's events.

export interface SessionsScreenProps {
  readonly client: EngineClient;
  readonly query: Readonly<Record<string, string>>;
}

export function SessionsScreen({ client, query }: SessionsScreenProps) {
  const queryKey = JSON.stringify(query);
  // Keyed by the query's content: a new route object with the same query keeps the same filters.
  const { filters, problems } = useMemo(() => filtersFromQuery(JSON.parse(queryKey) as Record<string, string>), [queryKey]);
  const list = useSessionList(client, filters);
  const policy = useCall(client, 'policy.view', {});
  const resources = useMemo(() => (policy.value?.resources ?? []).map((resource) => resource.name), [policy.value]);
  const setFilters = useCallback((next: SessionFilters) => navigate({ screen: 'sessions', query: queryFromFilters(next) }, { replace: true }), []);

  const shown = useMemo(() => list.rows?.filter((row) => row.shown) ?? [], [list.rows]);
  const live = shown.filter((row) => row.session.status === 'open').length;
  const filtered = isFiltered(filters);
  const mayHaveMore = (list.rows?.filter((row) => row.shown).length ?? 0) >= filters.limit;

  return (
    <div className="sessions-screen">
      <header className="sessions-head">
        <h1>Sessions</h1>
        <p className="sessions-summary muted" aria-live="polite">
          {list.rows === undefined ? 'Loading…' : `${formatCount(shown.length)}${mayHaveMore ? '+' : ''} session${shown.length === 1 ? '' : 's'}${filtered ? ' matching' : ''}${live > 0 ? ` · ${live} live` : ''}`}
          <span className={`loading-dot${list.loading ? ' loading-dot-on' : ''}`} aria-hidden="true" />
        </p>
      </header>
      <SessionFilterBar filters={filters} onChange={setFilters} resources={resources} />
      {problems.length > 0 && (
        <p className="notice" role="status">
          This link's filters were partly not understood: {problems.join('; ')}.
        </p>
      )}
      {list.error && <ErrorBanner error={list.error} action="Could not load sessions" />}
      {list.rows !== undefined && shown.length === 0 && !list.error && (filtered ? <NoMatches onClear={() => setFilters({ ...NO_FILTERS })} /> : <NoSessions resources={resources} />)}
      {shown.length > 0 && <SessionsTable rows={shown} />}
      {mayHaveMore && (
        <p className="sessions-more">
          {filters.limit < MAX_LIMIT ? (
            <button type="button" className="button" onClick={() => setFilters({ ...filters, limit: Math.min(MAX_LIMIT, filters.limit * 5) })}>
              Show up to {formatCount(Math.min(MAX_LIMIT, filters.limit * 5))} sessions
            </button>
          ) : (
            <span className="muted">Showing the newest {formatCount(MAX_LIMIT)}: narrow the filters (a time range, a caller) to see older sessions.</span>
          )}
        </p>
      )}
    </div>
  );
}

function NoMatches({ onClear }: { onClear: () => void }) {
  return (
    <EmptyState title="No sessions match these filters">
      <p>Loosen a filter, or clear them all to see every recorded session.</p>
      <button type="button" className="button" onClick={onClear}>
        Clear filters
      </button>
    </EmptyState>
  );
}

function NoSessions({ resources }: { resources: readonly string[] }) {
  const resource = resources[0] ?? 'RESOURCE';
  return (
    <EmptyState title="No sessions recorded yet">
      <p>Every connection through the gateway is recorded here as it happens. Connect a client through the gateway's PostgreSQL listener (<code>listen.postgres</code> in sluice.yaml) with your token as the password, for example:</p>
      <pre className="sessions-example">
        <code>{`PGPASSWORD=<your token> psql "host=<gateway host> port=6432 dbname=${resource} user=<your name>"`}</code>
      </pre>
      <p>The session appears here at once, and its statements as they run.</p>
    </EmptyState>
  );
}
