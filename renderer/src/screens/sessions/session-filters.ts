import type { ApiInput, SessionMark, SessionProtocol, SessionRecord } from '../../../../proxy/api/api-contract.js';

// The sessions list's filters, kept in the hash route's query (#/sessions?resource=prod&had=denial)
// so a link reproduces the view. Parsing is forgiving: a value the console does not understand
// is dropped and named in `problems`, never sent to the gateway.

export const PROTOCOLS: readonly SessionProtocol[] = ['postgres', 'http', 'exec', 'mcp'];
export const STATUSES = ['open', 'closed', 'aborted'] as const;
export type SessionStatusFilter = (typeof STATUSES)[number];
export const MARKS: readonly SessionMark[] = ['denial', 'approval', 'masking', 'error'];

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1_000;

export interface SessionFilters {
  readonly resource?: string;
  /** Part of the caller's subject. */
  readonly identity?: string;
  readonly protocol?: SessionProtocol;
  readonly status?: SessionStatusFilter;
  /** Started at or after (epoch ms). */
  readonly since?: number;
  /** Started before (epoch ms). */
  readonly until?: number;
  readonly had: readonly SessionMark[];
  /** Text in a statement. */
  readonly search?: string;
  readonly limit: number;
}

export const NO_FILTERS: SessionFilters = { had: [], limit: DEFAULT_LIMIT };

export function filtersFromQuery(query: Readonly<Record<string, string>>): { filters: SessionFilters; problems: string[] } {
  const problems: string[] = [];
  const text = (key: string, max: number) => {
    const value = query[key]?.trim();
    if (!value) return undefined;
    if (value.length > max) {
      problems.push(`${key} is longer than ${max} characters, so it was left out`);
      return undefined;
    }
    return value;
  };
  const oneOf = <T extends string>(key: string, values: readonly T[]) => {
    const value = query[key];
    if (!value) return undefined;
    if ((values as readonly string[]).includes(value)) return value as T;
    problems.push(`${key}=${value} is not one of ${values.join(', ')}, so it was left out`);
    return undefined;
  };
  const time = (key: string) => {
    const value = query[key];
    if (!value) return undefined;
    const ms = Date.parse(value);
    if (Number.isFinite(ms) && ms >= 0) return ms;
    problems.push(`${key}=${value} is not a date and time, so it was left out`);
    return undefined;
  };
  const had = (query.had ?? '')
    .split(',')
    .map((mark) => mark.trim())
    .filter(Boolean)
    .filter((mark) => {
      if ((MARKS as readonly string[]).includes(mark)) return true;
      problems.push(`had=${mark} is not one of ${MARKS.join(', ')}, so it was left out`);
      return false;
    }) as SessionMark[];
  const limit = Number(query.limit);
  const filters: SessionFilters = {
    ...optional('resource', text('resource', 200)),
    ...optional('identity', text('identity', 500)),
    ...optional('protocol', oneOf('protocol', PROTOCOLS)),
    ...optional('status', oneOf('status', STATUSES)),
    ...optional('since', time('since')),
    ...optional('until', time('until')),
    ...optional('search', text('search', 500)),
    had: [...new Set(had)],
    limit: Number.isInteger(limit) && limit >= 1 ? Math.min(limit, MAX_LIMIT) : DEFAULT_LIMIT,
  };
  return { filters, problems };
}

export function queryFromFilters(filters: SessionFilters): Record<string, string> {
  const query: Record<string, string> = {};
  if (filters.search) query.search = filters.search;
  if (filters.resource) query.resource = filters.resource;
  if (filters.identity) query.identity = filters.identity;
  if (filters.protocol) query.protocol = filters.protocol;
  if (filters.status) query.status = filters.status;
  if (filters.since !== undefined) query.since = new Date(filters.since).toISOString();
  if (filters.until !== undefined) query.until = new Date(filters.until).toISOString();
  if (filters.had.length > 0) query.had = filters.had.join(',');
  if (filters.limit !== DEFAULT_LIMIT) query.limit = String(filters.limit);
  return query;
}

/** What `sessions.list` is asked. */
export function listInput(filters: SessionFilters): ApiInput<'sessions.list'> {
  return {
    limit: filters.limit,
    ...optional('resource', filters.resource),
    ...optional('identity', filters.identity),
    ...optional('protocol', filters.protocol),
    ...optional('status', filters.status),
    ...optional('since', filters.since),
    ...optional('until', filters.until),
    ...optional('search', filters.search),
    ...(filters.had.length > 0 && { had: [...filters.had] }),
  };
}

/** Whether any filter narrows the list (the limit does not count). */
export function isFiltered(filters: SessionFilters): boolean {
  return Object.keys(queryFromFilters({ ...filters, limit: DEFAULT_LIMIT })).length > 0;
}

/**
 * Whether a session the list was not given (it started after the list loaded) belongs in it,
 * by what its record says. `had` and `search` depend on its events: the caller checks those.
 */
export function recordMatches(session: SessionRecord, filters: SessionFilters): boolean {
  if (filters.resource !== undefined && session.resource !== filters.resource) return false;
  if (filters.identity !== undefined && !session.identity.subject.toLowerCase().includes(filters.identity.toLowerCase())) return false;
  if (filters.protocol !== undefined && session.protocol !== filters.protocol) return false;
  if (filters.status !== undefined && session.status !== filters.status) return false;
  if (filters.since !== undefined && session.startedAt < filters.since) return false;
  if (filters.until !== undefined && session.startedAt >= filters.until) return false;
  return true;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
