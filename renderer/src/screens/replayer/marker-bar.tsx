import type { MarkerKind } from './markers.js';
import { MARKER_KINDS } from './markers.js';
import { MARKER_NAMES } from './scrubber.js';

// Under the timeline: previous / next marker, and a legend that counts each kind and says
// which kinds n / p visit (a pressed button: visited).

export interface MarkerBarProps {
  readonly counts: Readonly<Record<MarkerKind, number>>;
  readonly kinds: ReadonlySet<MarkerKind>;
  readonly onToggleKind: (kind: MarkerKind) => void;
  readonly onMarker: (direction: 1 | -1) => void;
  readonly hasPrevious: boolean;
  readonly hasNext: boolean;
  /** The markers are still being worked out (a long session, just opened). */
  readonly pending: boolean;
}

export function MarkerBar({ counts, kinds, onToggleKind, onMarker, hasPrevious, hasNext, pending }: MarkerBarProps) {
  const total = MARKER_KINDS.reduce((sum, kind) => sum + counts[kind], 0);
  return (
    <div className="marker-bar">
      <div className="marker-nav">
        <button type="button" className="button" onClick={() => onMarker(-1)} disabled={!hasPrevious} aria-keyshortcuts="p [">
          ← Previous marker <kbd>p</kbd>
        </button>
        <button type="button" className="button" onClick={() => onMarker(1)} disabled={!hasNext} aria-keyshortcuts="n ]">
          Next marker <kbd>n</kbd> →
        </button>
      </div>
      {pending && total === 0 ? (
        <p className="muted marker-none">Finding denials, approvals, errors and masking…</p>
      ) : total === 0 ? (
        <p className="muted marker-none">No denials, approvals, errors or masking in this session.</p>
      ) : (
        <ul className="marker-legend" aria-label="Markers on the timeline">
          {MARKER_KINDS.map((kind) => (
            <li key={kind}>
              <button
                type="button"
                className="legend-item"
                aria-pressed={kinds.has(kind)}
                disabled={counts[kind] === 0}
                title={kinds.has(kind) ? `Next / previous visit ${MARKER_NAMES[kind].many}; press to skip them` : `Next / previous skip ${MARKER_NAMES[kind].many}; press to visit them`}
                onClick={() => onToggleKind(kind)}
              >
                <span className={`marker-shape marker-${kind}`} aria-hidden="true" />
                {counts[kind]} {counts[kind] === 1 ? MARKER_NAMES[kind].one : MARKER_NAMES[kind].many}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
