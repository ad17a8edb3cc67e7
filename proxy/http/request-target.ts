// The request line's target, read strictly: the gateway forwards only what policy decided on, so
// a path that an upstream could read two ways is refused rather than guessed at.
//
// - Only origin-form targets (`/path?query`): an absolute URL or `*` would make the gateway an
//   open proxy or reach something that is not a resource.
// - Percent-encoded unreserved characters are decoded (`%61dmin` is `admin`); every other escape
//   is kept, upper-cased. `%2F` stays encoded: some APIs name things with it (GitLab's
//   `group%2Fproject`), so deny rules also match the reading with it decoded.
// - Refused: `.`/`..` segments (also encoded, also once `%2F` and `%5C` are decoded), empty
//   segments (`//`), backslashes, NUL and control characters, anything outside URL characters.

export interface RequestTarget {
  /** The path as forwarded: normalized, starting with `/`. */
  readonly path: string;
  /** The raw query (without `?`), or undefined. */
  readonly query: string | undefined;
}

export interface RoutedTarget extends RequestTarget {
  /** The resource named by `/r/NAME/`. */
  readonly resource: string;
}

/** A target the gateway refuses, with words for the caller (400). */
export class TargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetError';
  }
}

export const RESOURCE_PREFIX = '/r/';

const PATH_CHARS = /^[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;
const QUERY_CHARS = /^[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*$/;
const RESOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const MAX_TARGET = 8_192;

/** The target of a request on the shared listener: `/r/NAME/rest` -> resource NAME, path `/rest`. */
export function routeTarget(raw: string): RoutedTarget {
  const target = parseTarget(raw);
  if (!target.path.startsWith(RESOURCE_PREFIX)) {
    throw new TargetError(`requests go to ${RESOURCE_PREFIX}RESOURCE/PATH (e.g. /r/billing-api/invoices)`);
  }
  const rest = target.path.slice(RESOURCE_PREFIX.length);
  const slash = rest.indexOf('/');
  const resource = slash === -1 ? rest : rest.slice(0, slash);
  if (!RESOURCE_NAME.test(resource)) throw new TargetError(`"${resource.slice(0, 64)}" is not a resource name; requests go to ${RESOURCE_PREFIX}RESOURCE/PATH`);
  return { resource, path: slash === -1 ? '/' : rest.slice(slash), query: target.query };
}

/** Parses and normalizes an origin-form target; throws TargetError for anything ambiguous. */
export function parseTarget(raw: string): RequestTarget {
  if (raw.length > MAX_TARGET) throw new TargetError(`the request target is longer than ${MAX_TARGET} characters`);
  if (!raw.startsWith('/')) {
    throw new TargetError('the request target must be a path starting with "/": Sluice forwards only to the resources it is configured with, never to a URL a request names');
  }
  const mark = raw.indexOf('?');
  const rawPath = mark === -1 ? raw : raw.slice(0, mark);
  const query = mark === -1 ? undefined : raw.slice(mark + 1);
  if (!PATH_CHARS.test(rawPath)) throw new TargetError('the path holds a character that is not allowed in a URL path (spaces, backslashes, quotes, control or non-ASCII characters must be percent-encoded)');
  if (query !== undefined && !QUERY_CHARS.test(query)) throw new TargetError('the query holds a character that is not allowed in a URL (percent-encode it)');
  if (query !== undefined) checkEscapes(query, 'query');
  const path = normalizeEscapes(rawPath);
  const segments = path.split('/').slice(1);
  segments.forEach((segment, index) => {
    if (segment === '' && index < segments.length - 1) throw new TargetError('the path has an empty segment ("//"), which upstreams read differently; remove it');
    if (segment === '.' || segment === '..') throw new TargetError('the path has a "." or ".." segment; send the path it stands for');
  });
  // What an upstream that decodes everything would see: no dot segments may appear there either.
  for (const segment of decodeAll(path).split(/[/\\]/)) {
    if (segment === '.' || segment === '..') throw new TargetError('the path has an encoded "." or ".." segment; send the path it stands for');
  }
  if (/%5C/i.test(path)) throw new TargetError('the path has an encoded backslash (%5C), which upstreams read differently; remove it');
  return { path, query };
}

/**
 * Other readings of a normalized path an upstream may take: `%2F` decoded to `/`, `;params`
 * dropped from segments (Java servlets do), a trailing slash dropped. Deny and approve rules
 * match any of them, so `/admin%2Fusers` and `/admin;x/users` still hit a rule on `/admin/*`.
 */
export function pathViews(path: string): string[] {
  const views = new Set<string>();
  const decoded = path.replace(/%2F/gi, '/');
  for (const base of [path, decoded]) {
    const unparamed = base.replace(/;[^/]*/g, '');
    for (const view of [base, unparamed]) {
      views.add(view);
      if (view.length > 1 && view.endsWith('/')) views.add(view.slice(0, -1));
      views.add(decodeAll(view));
    }
  }
  views.delete(path);
  return [...views];
}

/** Decodes unreserved characters, upper-cases the rest, refuses malformed escapes and NUL. */
function normalizeEscapes(path: string): string {
  checkEscapes(path, 'path');
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => {
    const code = parseInt(hex, 16);
    if (code === 0) throw new TargetError('the path has an encoded NUL (%00)');
    const c = String.fromCharCode(code);
    return /[A-Za-z0-9\-._~]/.test(c) ? c : `%${hex.toUpperCase()}`;
  });
}

function checkEscapes(text: string, what: string): void {
  for (let at = text.indexOf('%'); at !== -1; at = text.indexOf('%', at + 1)) {
    if (!/^[0-9A-Fa-f]{2}$/.test(text.slice(at + 1, at + 3))) throw new TargetError(`the ${what} has a "%" that does not start an escape like %2F`);
  }
}

/** Every escape decoded as a byte; the result is only compared, never forwarded. */
function decodeAll(text: string): string {
  return text.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
