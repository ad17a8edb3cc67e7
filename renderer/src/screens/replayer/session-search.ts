import { useEffect, useState } from 'react';
import type { ReplayTranscript } from './replay-transcript.js';

// Search within one session: which events' transcript lines hold the text, and which match comes
// next from the event on screen. Matching is case-insensitive on the transcript as shown (masked
// values stay masked: the recording never held the originals). A long session is searched a
// window at a time between frames, so typing never freezes the page; matches show as they are found.

/** Events rendered per step: a few milliseconds of work. */
const CHUNK_EVENTS = 2_000;

export interface SearchResult {
  /** The searched text (trimmed); empty: no search. */
  readonly term: string;
  /** Event indices (ascending) whose transcript lines contain the term. */
  readonly matches: readonly number[];
  /** Every event has been searched. */
  readonly done: boolean;
}

const NO_SEARCH: SearchResult = { term: '', matches: [], done: true };

/** Event indices in events[from..to] whose frames contain `needle` (lower case). */
export function findMatches(transcript: ReplayTranscript, needle: string, from = 0, to = transcript.events.length - 1): number[] {
  if (!needle) return [];
  const found: number[] = [];
  let index = from;
  const seqs = transcript.events;
  for (const frame of transcript.framesOf(from, to)) {
    if (frame.raw || !frame.text.toLowerCase().includes(needle)) continue;
    // Frames come in event order: walk the events alongside to name the match by index.
    while (index < to && seqs[index]!.seq < frame.seq) index++;
    if (found.at(-1) !== index) found.push(index);
  }
  return found;
}

export function useSessionSearch(transcript: ReplayTranscript, term: string): SearchResult {
  const [result, setResult] = useState<SearchResult>(NO_SEARCH);
  useEffect(() => {
    const needle = term.trim().toLowerCase();
    if (!needle) {
      setResult(NO_SEARCH);
      return;
    }
    let cancelled = false;
    let from = 0;
    const matches: number[] = [];
    const total = transcript.events.length;
    const step = () => {
      if (cancelled) return;
      const to = Math.min(total - 1, from + CHUNK_EVENTS - 1);
      matches.push(...findMatches(transcript, needle, from, to));
      from = to + 1;
      const done = from >= total;
      setResult({ term: term.trim(), matches: [...matches], done });
      if (!done) setTimeout(step, 0);
    };
    step();
    return () => {
      cancelled = true;
    };
  }, [transcript, term]);
  return result;
}

/** The match after (1) or before (-1) event `current`, wrapping around; undefined when there are none. */
export function adjacentMatch(matches: readonly number[], current: number, direction: 1 | -1): number | undefined {
  if (matches.length === 0) return undefined;
  if (direction > 0) return matches.find((index) => index > current) ?? matches[0];
  for (let i = matches.length - 1; i >= 0; i--) if (matches[i]! < current) return matches[i];
  return matches.at(-1);
}

/** 1-based number of the match at event `current`, or undefined when it is not one. */
export function matchNumber(matches: readonly number[], current: number): number | undefined {
  let low = 0;
  let high = matches.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = matches[mid]!;
    if (at === current) return mid + 1;
    if (at < current) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
}
