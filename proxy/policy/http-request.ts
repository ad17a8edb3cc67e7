// What policy knows about one HTTP request (the HTTP counterpart of a classified statement),
// and the config checks for the HTTP dimensions of a rule's `match`.

/** The method policy sees for a WebSocket upgrade: a full-duplex channel, not a GET. */
export const WEBSOCKET_METHOD = 'WEBSOCKET';

/** What a request's body says about the fields a rule can name. */
export type BodyFields =
  /** No body (or an empty one): it sets no field. */
  | { readonly kind: 'empty' }
  /** A JSON body, parsed. */
  | { readonly kind: 'json'; readonly value: unknown }
  /** A body whose fields cannot be known (not JSON, too large, an unknown encoding): rules naming fields fail closed. */
  | { readonly kind: 'unknown'; readonly why: string };

export interface HttpRequestClass {
  /** Upper-case; `WEBSOCKET` for an upgrade. */
  readonly method: string;
  /** The path within the resource, normalized as it is forwarded (`/refunds/42`). */
  readonly path: string;
  /**
   * Other readings of the path an upstream may take (encoded slashes decoded, `;params`
   * dropped, a trailing slash dropped): deny and approve rules match any of them.
   */
  readonly pathViews: readonly string[];
  /** The body's fields; undefined when the gateway did not read the body (no rule needed it). */
  readonly fields?: BodyFields;
  /** `POST /refunds`: the request in words, for traces and reasons. */
  readonly text: string;
}

const METHOD = /^[A-Za-z]{1,24}$/;

export function httpMethodProblem(method: string): string | undefined {
  return METHOD.test(method) ? undefined : `"${method}" is not an HTTP method (letters only, e.g. GET, POST, or WEBSOCKET for an upgrade)`;
}

// A path glob: `/`-separated segments of URL path characters, `*` within one segment and `**`
// across segments.
const PATH_GLOB = /^\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*$/;

export function httpPathGlobProblem(glob: string): string | undefined {
  if (!PATH_GLOB.test(glob)) return `"${glob}" is not a path glob: it starts with "/" and holds URL path characters (no query, "?" or spaces); "*" matches within a segment, "**" across segments`;
  if (glob.includes('***')) return `"${glob}" has "***": use "*" (one segment) or "**" (any depth)`;
  if (glob.split('/').some((segment) => segment === '.' || segment === '..')) return `"${glob}" has a "." or ".." segment, which the gateway refuses in requests: it can never match`;
  return undefined;
}

/**
 * One regular expression for a list of path globs. `*` is any run within a segment; `**` is any
 * run across segments; a trailing `/**` also matches the path without it (`/admin/**` covers
 * `/admin`).
 */
export function compilePathGlobs(globs: readonly string[], options: { readonly ignoreCase: boolean }): RegExp {
  const alternatives = globs.map((glob) => {
    const tail = glob.endsWith('/**');
    const body = tail ? glob.slice(0, -3) : glob;
    let source = '';
    for (let i = 0; i < body.length; i++) {
      const c = body[i]!;
      if (c === '*' && body[i + 1] === '*') {
        source += '.*';
        i++;
      } else if (c === '*') {
        source += '[^/]*';
      } else {
        source += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      }
    }
    return tail ? `${source}(?:/.*)?` : source;
  });
  return new RegExp(`^(?:${alternatives.join('|')})$`, options.ignoreCase ? 'is' : 's');
}
