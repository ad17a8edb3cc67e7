import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import type { TranscriptEvent } from '../../../../proxy/common/transcript.js';
import { formatTime } from '../../ui/format.js';
import { EventDetails } from './event-details.js';
import { MarkerBar } from './marker-bar.js';
import { adjacentMarker, clusterMarkers, countMarkers, eventBySeq, findMarkers, MARKER_KINDS, placeMarkers, type MarkerKind, type PlacedMarker } from './markers.js';
import { clamp, formatClock, PAUSED_AT_START, seekTo, SPEEDS, stepSpeed, togglePlaying, withSpeed, type Playback } from './playback.js';
import { ReplayTranscript } from './replay-transcript.js';
import { Scrubber } from './scrubber.js';
import { SearchBox } from './search-box.js';
import { adjacentMatch, findMatches, matchNumber, useSessionSearch } from './session-search.js';
import { SessionHeader } from './session-header.js';
import { TerminalView } from './terminal-view.js';
import { buildTimeline, clockAt, eventAt, positionOfSeq, stepEvent, type Timeline } from './timeline.js';
import { usePlaybackClock } from './use-playback-clock.js';
import { SHORTCUTS, useReplayerKeys } from './use-replayer-keys.js';
import './replayer.css';

// The terminal-style player for one session: the live screen (ReplayScreen) and an offline
// bundle (the bundle screen) both render it with the session's events.

/** What the replayer shows of a session: a live SessionRecord or a bundle's session line both fit. */
export interface ReplayerSession {
  readonly id: string;
  readonly resource: string;
  readonly protocol: string;
  readonly identity: { readonly subject: string; readonly issuer: string; readonly groups: readonly string[] };
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly status: string;
  readonly clientAddress?: string;
  readonly application?: string | null;
  readonly gateway?: string;
}

export interface ReplayerProps {
  readonly session: ReplayerSession;
  /** The session's events in seq order (EventRecord or a bundle's ChainedEvent mapped to this shape). */
  readonly events: readonly TranscriptEvent[];
  /** Start positioned at this event (a link from the inbox or a marker). */
  readonly initialSeq?: number;
  /** Shown above the player: a bundle's verification result, a live session's state. */
  readonly banner?: ReactNode;
}

const SEARCH_DELAY_MS = 150;
const NO_EVENTS: readonly TranscriptEvent[] = [];

export function Replayer({ session, events, initialSeq, banner }: ReplayerProps) {
  const live = session.status === 'open' && session.endedAt === null;
  const { id, resource, protocol } = session;
  // Only the part of the transcript on screen is ever rendered (replay-transcript.ts).
  const transcript = useMemo(() => new ReplayTranscript({ id, resource, protocol }, events), [id, resource, protocol, events]);
  const timelines = useTimelines(events);
  const [skipIdle, setSkipIdle] = useState(true);
  const timeline = timelines(skipIdle);
  const markerEvents = useAfterPaint(events, NO_EVENTS);
  const markers = useMemo(() => findMarkers(markerEvents), [markerEvents]);
  const placed = useMemo(() => placeMarkers(markers, timeline), [markers, timeline]);
  const [kinds, setKinds] = useState<ReadonlySet<MarkerKind>>(() => new Set(MARKER_KINDS));
  const clusters = useMemo(() => clusterMarkers(placed, timeline.duration), [placed, timeline.duration]);
  // A stable list while playing: the markers re-render only when the session or the kinds shown change.
  const shownClusters = useMemo(() => clusters.filter((cluster) => kinds.has(cluster.kind)), [clusters, kinds]);
  const counts = useMemo(() => countMarkers(markers), [markers]);

  // A live session opens at its end and follows it; a recording opens at its start (or at initialSeq).
  const [playback, setPlayback] = useState<Playback>(() => ({
    ...PAUSED_AT_START,
    position: initialSeq !== undefined ? positionOfSeq(timeline, initialSeq) : live ? timeline.duration : 0,
  }));
  const [selectedSeq, setSelectedSeq] = useState<number | undefined>(initialSeq);

  // New frames of a live session: a player parked at the end stays at the end (adjusting state
  // during render, so the terminal never shows the old end first).
  // The session's last events and its end can arrive together: it was live when they came.
  const [tracked, setTracked] = useState({ duration: timeline.duration, skipIdle, live });
  if (tracked.duration !== timeline.duration || tracked.skipIdle !== skipIdle || tracked.live !== live) {
    setTracked({ duration: timeline.duration, skipIdle, live });
    const following = (live || tracked.live) && tracked.skipIdle === skipIdle && !playback.playing && playback.position >= tracked.duration;
    if (following) setPlayback((state) => ({ ...state, position: timeline.duration }));
  }

  const position = clamp(playback.position, timeline.duration);
  const current = eventAt(timeline, position);
  usePlaybackClock(playback.playing, timeline.duration, setPlayback);

  // A link to another event of the same session (#/sessions/ID?seq=N) moves the player there.
  const lastInitialSeq = useRef(initialSeq);
  useEffect(() => {
    if (initialSeq === undefined || initialSeq === lastInitialSeq.current) return;
    lastInitialSeq.current = initialSeq;
    setPlayback((state) => ({ ...seekTo(state, positionOfSeq(timeline, initialSeq), timeline.duration), playing: false }));
    setSelectedSeq(initialSeq);
  }, [initialSeq, timeline]);

  const seek = useCallback((to: number) => setPlayback((state) => seekTo(state, to, timeline.duration)), [timeline.duration]);
  const pauseAt = useCallback((to: number) => setPlayback((state) => ({ ...seekTo(state, to, timeline.duration), playing: false })), [timeline.duration]);
  const step = useCallback((direction: 1 | -1) => pauseAt(stepEvent(timeline, position, direction)), [timeline, position, pauseAt]);
  const togglePlay = useCallback(() => setPlayback((state) => togglePlaying(state, timeline.duration)), [timeline.duration]);

  const selectMarker = useCallback(
    (marker: PlacedMarker) => {
      setSelectedSeq(marker.seq);
      pauseAt(marker.position);
    },
    [pauseAt],
  );
  const jumpMarker = (direction: 1 | -1) => {
    const marker = adjacentMarker(placed, position, selectedSeq, direction, kinds);
    if (marker) selectMarker(marker);
  };

  const [searchText, setSearchText] = useState('');
  const [searchTerm, setSearchTerm] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => setSearchTerm(searchText.trim()), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [searchText]);
  const search = useSessionSearch(transcript, searchTerm);
  const matches = search.matches;
  const [matchEvent, setMatchEvent] = useState<number | undefined>(undefined);
  const searchInput = useRef<HTMLInputElement>(null);
  const jumpMatch = (direction: 1 | -1) => {
    // Enter right after typing: search now (the first matches) rather than wait for the pause in typing.
    const term = searchText.trim();
    if (term !== searchTerm) setSearchTerm(term);
    const found = term === search.term ? matches : findMatches(transcript, term.toLowerCase(), 0, Math.min(events.length, 5_000) - 1);
    const target = adjacentMatch(found, matchEvent ?? current, direction);
    if (target === undefined) return;
    setMatchEvent(target);
    setSelectedSeq(events[target]!.seq);
    pauseAt(timeline.at[target]!);
  };

  useReplayerKeys({
    togglePlay,
    marker: jumpMarker,
    speed: (direction) => setPlayback((state) => withSpeed(state, stepSpeed(state.speed, direction))),
    focusSearch: () => searchInput.current?.focus(),
  });

  const toggleSkipIdle = () => {
    // The same frame stays on screen: its place on the other timeline.
    const other = timelines(!skipIdle);
    setSkipIdle(!skipIdle);
    setPlayback((state) => ({ ...state, position: current >= 0 ? other.at[current]! : 0 }));
  };

  const selectedEvent = selectedSeq === undefined ? undefined : eventBySeq(events, selectedSeq);
  const selectedMarker = useMemo(() => (selectedSeq === undefined ? undefined : markers.find((marker) => marker.seq === selectedSeq)), [markers, selectedSeq]);
  const clock = clockAt(timeline, position);
  const valueText = `${formatClock(position)} of ${formatClock(timeline.duration)}${clock !== undefined ? `, at ${formatTime(clock)}` : ''}${describeEvent(events[current])}`;
  const atEnd = position >= timeline.duration;

  return (
    <div className="replayer">
      <SessionHeader session={session} />
      {banner}
      <div className="replayer-controls" role="toolbar" aria-label="Playback">
        <button type="button" className="button button-primary play-button" onClick={togglePlay} aria-keyshortcuts="Space" disabled={events.length === 0}>
          {playback.playing ? 'Pause' : atEnd && !live ? 'Replay' : 'Play'} <kbd>Space</kbd>
        </button>
        <label className="inline-field">
          Speed
          <select value={playback.speed} onChange={(event) => setPlayback((state) => withSpeed(state, Number(event.target.value)))}>
            {SPEEDS.map((speed) => (
              <option key={speed} value={speed}>
                {speed}×
              </option>
            ))}
          </select>
        </label>
        <label className="inline-field checkbox-field" title="Pauses longer than 2 s play as 2 s">
          <input type="checkbox" checked={skipIdle} onChange={toggleSkipIdle} /> Skip idle
        </label>
        <span className="replayer-clock" aria-hidden="true">
          {formatClock(position)} / {formatClock(timeline.duration)}
          {clock !== undefined && <span className="muted"> · {formatTime(clock)}</span>}
        </span>
        {live && <span className="badge badge-open live-badge">Live</span>}
        <SearchBox
          value={searchText}
          onChange={(value) => {
            setSearchText(value);
            setMatchEvent(undefined);
          }}
          total={matches.length}
          current={matchEvent === undefined ? undefined : matchNumber(matches, matchEvent)}
          settled={searchText.trim() === search.term && search.done}
          onJump={jumpMatch}
          inputRef={searchInput}
        />
      </div>
      <Scrubber duration={timeline.duration} position={position} clusters={shownClusters} selectedSeq={selectedSeq} valueText={valueText} onSeek={seek} onStep={step} onSelectMarker={selectMarker} />
      <MarkerBar
        counts={counts}
        kinds={kinds}
        onToggleKind={(kind) => setKinds((current) => toggled(current, kind))}
        onMarker={jumpMarker}
        hasPrevious={adjacentMarker(placed, position, selectedSeq, -1, kinds) !== undefined}
        hasNext={adjacentMarker(placed, position, selectedSeq, 1, kinds) !== undefined}
        pending={markerEvents !== events}
      />
      <div className="replayer-body">
        <TerminalView transcript={transcript} timeline={timeline} position={position} search={search.term} />
        <EventDetails event={selectedEvent} events={events} marker={selectedMarker} />
      </div>
      <p className="replayer-keys muted">
        {SHORTCUTS.map((shortcut) => (
          <span key={shortcut.what}>
            {shortcut.keys.map((key) => (
              <kbd key={key}>{key}</kbd>
            ))}{' '}
            {shortcut.what}
          </span>
        ))}
      </p>
    </div>
  );
}

/** Both timelines of the same events (skip idle on and off), each built the first time it is asked for. */
function useTimelines(events: readonly TranscriptEvent[]): (skipIdle: boolean) => Timeline {
  return useMemo(() => {
    const built = new Map<boolean, Timeline>();
    return (skipIdle: boolean) => {
      let timeline = built.get(skipIdle);
      if (!timeline) built.set(skipIdle, (timeline = buildTimeline(events, { skipIdle })));
      return timeline;
    };
  }, [events]);
}

/**
 * `value`, once the browser has painted the frame after it changed (`initial` until the first
 * time). Markers come this way: a long session has tens of thousands, and the terminal and the
 * controls should be on screen before they are worked out.
 */
function useAfterPaint<T>(value: T, initial: T): T {
  const [settled, setSettled] = useState(initial);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const frame = requestAnimationFrame(() => {
      timer = setTimeout(() => setSettled(() => value), 0);
    });
    return () => {
      cancelAnimationFrame(frame);
      clearTimeout(timer);
    };
  }, [value]);
  return settled;
}

function toggled(kinds: ReadonlySet<MarkerKind>, kind: MarkerKind): ReadonlySet<MarkerKind> {
  const next = new Set(kinds);
  if (next.has(kind)) next.delete(kind);
  else next.add(kind);
  return next;
}

const EVENT_WORDS: Readonly<Record<string, string>> = {
  connect: 'session start',
  query: 'statement',
  decision: 'policy decision',
  approval: 'approval',
  limit: 'limit',
  error: 'error',
  notice: 'notice',
  disconnect: 'session end',
};

function describeEvent(event: TranscriptEvent | undefined): string {
  if (!event) return '';
  return `, ${EVENT_WORDS[event.kind] ?? event.kind} (event ${event.seq})`;
}
