import { useEffect, useState } from 'react';

// Hash routes (#/approvals, #/sessions/ID, ...): the console is one static page, so a reload or
// a shared link lands on the same screen without the server knowing the routes. Nothing secret
// ever goes in a route.

export type Route =
  | { readonly screen: 'approvals'; readonly id?: string }
  | { readonly screen: 'sessions'; readonly query: Readonly<Record<string, string>> }
  | { readonly screen: 'replay'; readonly id: string; readonly seq?: number }
  | { readonly screen: 'masking' }
  | { readonly screen: 'policy' }
  | { readonly screen: 'bundle' }
  /** Desktop app only. */
  | { readonly screen: 'settings' };

export type ScreenName = Route['screen'];

export function parseRoute(hash: string): Route | undefined {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(search));
  switch (parts[0]) {
    case 'approvals':
      return parts[1] ? { screen: 'approvals', id: parts[1] } : { screen: 'approvals' };
    case 'sessions':
      if (parts[1]) {
        const seq = Number(params.seq);
        return Number.isInteger(seq) && seq > 0 ? { screen: 'replay', id: parts[1], seq } : { screen: 'replay', id: parts[1] };
      }
      return { screen: 'sessions', query: params };
    case 'masking':
      return { screen: 'masking' };
    case 'policy':
      return { screen: 'policy' };
    case 'bundle':
      return { screen: 'bundle' };
    case 'settings':
      return { screen: 'settings' };
    default:
      return undefined;
  }
}

export function routeHash(route: Route): string {
  switch (route.screen) {
    case 'approvals':
      return route.id ? `#/approvals/${encodeURIComponent(route.id)}` : '#/approvals';
    case 'sessions': {
      const search = new URLSearchParams(route.query).toString();
      return search ? `#/sessions?${search}` : '#/sessions';
    }
    case 'replay':
      return `#/sessions/${encodeURIComponent(route.id)}${route.seq ? `?seq=${route.seq}` : ''}`;
    default:
      return `#/${route.screen}`;
  }
}

export function navigate(route: Route, options: { replace?: boolean } = {}): void {
  const hash = routeHash(route);
  if (options.replace) globalThis.history.replaceState(null, '', hash);
  else globalThis.location.hash = hash;
  if (options.replace) globalThis.dispatchEvent(new HashChangeEvent('hashchange'));
}

/** The current route; undefined for a hash no screen owns. */
export function useRoute(): Route | undefined {
  const [route, setRoute] = useState(() => parseRoute(globalThis.location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(globalThis.location.hash));
    globalThis.addEventListener('hashchange', update);
    return () => globalThis.removeEventListener('hashchange', update);
  }, []);
  return route;
}
