import { memo, useCallback, useRef, type KeyboardEvent, type PointerEvent } from 'react';
import { formatClock } from './playback.js';
import { markerLabel, type MarkerCluster, type MarkerKind, type PlacedMarker } from './markers.js';

// The timeline: a slider (role="slider", arrows step one frame, PageUp/PageDown a tenth, Home
// and End the ends) with the session's markers drawn above it. Dragging asks for at most one
// seek per animation frame, however fast the pointer moves.

export const MARKER_NAMES: Record<MarkerKind, { readonly one: string; readonly many: string }> = {
  denial: { one: 'denial', many: 'denials' },
  approval: { one: 'approval', many: 'approvals' },
  error: { one: 'error', many: 'errors' },
  masking: { one: 'masked result', many: 'masked results' },
};

export interface ScrubberProps {
  readonly duration: number;
  readonly position: number;
  readonly clusters: readonly MarkerCluster[];
  readonly selectedSeq: number | undefined;
  /** What a screen reader says for the position ("0:12 of 1:30, 14:02:11, statement …"). */
  readonly valueText: string;
  readonly onSeek: (position: number) => void;
  /** One frame forward (1) or back (-1). */
  readonly onStep: (direction: 1 | -1) => void;
  readonly onSelectMarker: (marker: PlacedMarker) => void;
}

export function Scrubber({ duration, position, clusters, selectedSeq, valueText, onSeek, onStep, onSelectMarker }: ScrubberProps) {
  const track = useRef<HTMLDivElement>(null);
  const pending = useRef<number | undefined>(undefined);
  const frameRequest = useRef<number | undefined>(undefined);
  const fraction = duration > 0 ? Math.min(1, position / duration) : 0;

  const seekToPointer = useCallback(
    (clientX: number) => {
      const box = track.current?.getBoundingClientRect();
      if (!box || box.width <= 0) return;
      pending.current = (Math.min(Math.max(0, clientX - box.left), box.width) / box.width) * duration;
      frameRequest.current ??= requestAnimationFrame(() => {
        frameRequest.current = undefined;
        if (pending.current !== undefined) onSeek(pending.current);
      });
    },
    [duration, onSeek],
  );

  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (event.button !== 0) return;
    try {
      // Keeps the drag going when the pointer leaves the track.
      event.currentTarget.setPointerCapture?.(event.pointerId);
    } catch {
      // A synthetic or already-released pointer cannot be captured: the click still seeks.
    }
    event.currentTarget.focus();
    seekToPointer(event.clientX);
  };
  const onPointerMove = (event: PointerEvent<HTMLDivElement>) => {
    if (event.currentTarget.hasPointerCapture?.(event.pointerId)) seekToPointer(event.clientX);
  };

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const tenth = duration / 10;
    switch (event.key) {
      case 'ArrowRight':
      case 'ArrowUp':
        onStep(1);
        break;
      case 'ArrowLeft':
      case 'ArrowDown':
        onStep(-1);
        break;
      case 'PageUp':
        onSeek(Math.min(duration, position + tenth));
        break;
      case 'PageDown':
        onSeek(Math.max(0, position - tenth));
        break;
      case 'Home':
        onSeek(0);
        break;
      case 'End':
        onSeek(duration);
        break;
      default:
        return;
    }
    event.preventDefault();
  };

  return (
    <div className="scrubber">
      <Markers clusters={clusters} selectedSeq={selectedSeq} onSelectMarker={onSelectMarker} />
      <div
        ref={track}
        className="scrubber-track"
        role="slider"
        tabIndex={0}
        aria-label="Position in the session"
        aria-valuemin={0}
        aria-valuemax={Math.round(duration)}
        aria-valuenow={Math.round(position)}
        aria-valuetext={valueText}
        onKeyDown={onKeyDown}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
      >
        <div className="scrubber-rail">
          <div className="scrubber-fill" style={{ width: `${fraction * 100}%` }} />
        </div>
        <div className="scrubber-thumb" style={{ left: `${fraction * 100}%` }} />
      </div>
      <div className="scrubber-ends" aria-hidden="true">
        <span>0:00</span>
        <span>{formatClock(duration)}</span>
      </div>
    </div>
  );
}

interface MarkersProps {
  readonly clusters: readonly MarkerCluster[];
  readonly selectedSeq: number | undefined;
  readonly onSelectMarker: (marker: PlacedMarker) => void;
}

// Markers change only with the session, not 60 times a second while playing.
const Markers = memo(function Markers({ clusters, selectedSeq, onSelectMarker }: MarkersProps) {
  return (
    <div className="scrubber-markers">
      {clusters.map((cluster) => {
        const first = cluster.markers[0]!;
        const count = cluster.markers.length;
        const selected = selectedSeq !== undefined && cluster.markers.some((marker) => marker.seq === selectedSeq);
        const label = count === 1 ? `${markerLabel(first)} at ${formatClock(first.position)}` : `${count} ${MARKER_NAMES[cluster.kind].many} at ${formatClock(first.position)}, first: ${markerLabel(first)}`;
        return (
          <button
            key={`${cluster.kind}:${first.seq}`}
            type="button"
            // n / p (or [ ]) reach every marker from the keyboard; hundreds of tab stops would not help.
            tabIndex={-1}
            className={`marker${selected ? ' marker-selected' : ''}`}
            data-kind={cluster.kind}
            style={{ left: `${cluster.fraction * 100}%` }}
            aria-label={label}
            aria-pressed={selected}
            title={label}
            data-seq={first.seq}
            onClick={() => onSelectMarker(first)}
          >
            <span className={`marker-shape marker-${cluster.kind}`} aria-hidden="true" />
            {count > 1 && (
              <span className="marker-count" aria-hidden="true">
                {count > 99 ? '99+' : count}
              </span>
            )}
          </button>
        );
      })}
    </div>
  );
});
