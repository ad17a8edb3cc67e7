import { useEffect, useRef } from 'react';

// The player's keyboard shortcuts, on the whole page while it is open. Typing in a field never
// triggers them, and neither does Space on a button or link (which activates it instead).

export interface ReplayerKeys {
  readonly togglePlay: () => void;
  readonly marker: (direction: 1 | -1) => void;
  readonly speed: (direction: 1 | -1) => void;
  readonly focusSearch: () => void;
}

export const SHORTCUTS: readonly { readonly keys: readonly string[]; readonly what: string }[] = [
  { keys: ['Space'], what: 'play / pause' },
  { keys: ['n', 'p'], what: 'next / previous marker' },
  { keys: ['←', '→'], what: 'step (on the timeline)' },
  { keys: ['+', '−'], what: 'speed' },
  { keys: ['/'], what: 'search' },
];

export function useReplayerKeys(keys: ReplayerKeys): void {
  const latest = useRef(keys);
  latest.current = keys;
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target instanceof Element ? event.target : undefined;
      if (target?.closest('input, textarea, select, [contenteditable="true"]') && !target.closest('.xterm')) return;
      const handlers = latest.current;
      switch (event.key) {
        case ' ':
        case 'k':
          if (event.key === ' ' && target?.closest('button, a, summary')) return;
          handlers.togglePlay();
          break;
        case 'n':
        case ']':
          handlers.marker(1);
          break;
        case 'p':
        case '[':
          handlers.marker(-1);
          break;
        case '+':
        case '=':
        case '>':
          handlers.speed(1);
          break;
        case '-':
        case '<':
          handlers.speed(-1);
          break;
        case '/':
          handlers.focusSearch();
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, []);
}
