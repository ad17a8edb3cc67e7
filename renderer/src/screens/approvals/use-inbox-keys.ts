import { useEffect, useRef } from 'react';

// The inbox's keyboard: j/k (or arrows) move, a approves, d denies, ? shows the keys, Esc backs
// out. Keys typed into a field are text, never commands; keys with Ctrl/Alt/Meta belong to the
// browser, and a held-down key (auto-repeat) never decides anything.

export interface InboxKeys {
  next(): void;
  previous(): void;
  approve(): void;
  deny(): void;
  toggleHelp(): void;
  escape(): void;
}

export const SHORTCUTS: readonly { readonly keys: readonly string[]; readonly what: string }[] = [
  { keys: ['j', '↓'], what: 'Next request' },
  { keys: ['k', '↑'], what: 'Previous request' },
  { keys: ['a'], what: 'Approve the selected request (once)' },
  { keys: ['d'], what: 'Deny the selected request (asks for a reason)' },
  { keys: ['Enter'], what: 'Send the deny reason' },
  { keys: ['Esc'], what: 'Cancel the deny, close this help' },
  { keys: ['?'], what: 'Show or hide these shortcuts' },
];

export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) return !['button', 'checkbox', 'radio', 'submit', 'reset'].includes(target.type);
  return false;
}

export function useInboxKeys(keys: InboxKeys): void {
  const latest = useRef(keys);
  useEffect(() => {
    latest.current = keys;
  });
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (isTyping(event.target)) return;
      const handlers = latest.current;
      const run = (action: () => void) => {
        event.preventDefault();
        action();
      };
      switch (event.key) {
        case 'j':
        case 'ArrowDown':
          return run(handlers.next);
        case 'k':
        case 'ArrowUp':
          return run(handlers.previous);
        case 'a':
          return event.repeat ? undefined : run(handlers.approve);
        case 'd':
          // Also keeps the "d" out of the reason field that opens with focus.
          return event.repeat ? event.preventDefault() : run(handlers.deny);
        case '?':
          return run(handlers.toggleHelp);
        case 'Escape':
          return handlers.escape();
      }
    };
    document.addEventListener('keydown', onKeyDown);
    return () => document.removeEventListener('keydown', onKeyDown);
  }, []);
}
