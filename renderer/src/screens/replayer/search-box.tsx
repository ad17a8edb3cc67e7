import type { KeyboardEvent, RefObject } from 'react';

// Search within the session: Enter jumps to the next match, Shift+Enter to the previous one,
// Escape clears. Matches are highlighted in the terminal.

export interface SearchBoxProps {
  readonly value: string;
  readonly onChange: (value: string) => void;
  readonly total: number;
  /** 1-based number of the match on screen, when the position is on one. */
  readonly current: number | undefined;
  /** Whether matches are counted for the current text yet (typing is debounced). */
  readonly settled: boolean;
  readonly onJump: (direction: 1 | -1) => void;
  readonly inputRef: RefObject<HTMLInputElement | null>;
}

export function SearchBox({ value, onChange, total, current, settled, onJump, inputRef }: SearchBoxProps) {
  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === 'Enter') {
      event.preventDefault();
      onJump(event.shiftKey ? -1 : 1);
    } else if (event.key === 'Escape' && value) {
      event.preventDefault();
      onChange('');
    }
  };
  const status = !value.trim() ? '' : !settled ? 'Searching…' : total === 0 ? 'No matches' : current !== undefined ? `${current} of ${total}` : `${total} match${total === 1 ? '' : 'es'}`;
  return (
    <div className="search-box" role="search">
      <label htmlFor="replay-search">Search in session</label>
      <input
        id="replay-search"
        ref={inputRef}
        type="search"
        value={value}
        placeholder="text in statements or results"
        onChange={(event) => onChange(event.target.value)}
        onKeyDown={onKeyDown}
        aria-keyshortcuts="/"
        aria-describedby="replay-search-status"
        autoComplete="off"
        spellCheck={false}
      />
      <span id="replay-search-status" className="search-status muted" aria-live="polite">
        {status}
      </span>
      <button type="button" className="button button-quiet" onClick={() => onJump(-1)} disabled={total === 0} aria-label="Previous match">
        ↑
      </button>
      <button type="button" className="button button-quiet" onClick={() => onJump(1)} disabled={total === 0} aria-label="Next match">
        ↓
      </button>
    </div>
  );
}
