import type { TranscriptEvent } from '../../../../proxy/common/transcript.js';

// The replayer's timeline over a session's events. Every question the player asks while playing
// or seeking (which event is the last on screen at this position, where does event N show) is
// answered by binary search over typed arrays built in one cheap pass over the event times, so
// a seek costs the same in a 10-event session and a 100,000-event one. The transcript text is
// not needed to build it (replay-transcript.ts renders only the part on screen).

/** Skip idle: a pause longer than this plays (and takes room on the scrubber) as this long. */
export const IDLE_CAP_MS = 2_000;

export interface Timeline {
  /** Each event's seq. */
  readonly seqs: Float64Array;
  /** Each event's recorded time (µs since the epoch). */
  readonly times: Float64Array;
  /** Each event's place on the timeline: ms after the first event (pauses capped when skipIdle). */
  readonly at: Float64Array;
  /** The last event's place: the timeline's length in ms. */
  readonly duration: number;
  readonly skipIdle: boolean;
}

export function buildTimeline(events: readonly TranscriptEvent[], options: { readonly skipIdle: boolean }): Timeline {
  const n = events.length;
  const seqs = new Float64Array(n);
  const times = new Float64Array(n);
  const at = new Float64Array(n);
  let place = 0;
  for (let i = 0; i < n; i++) {
    const event = events[i]!;
    seqs[i] = event.seq;
    // Times never go backwards on screen (a clock step on the gateway must not reorder the replay).
    times[i] = Math.max(Number.isFinite(event.time) ? event.time : 0, i > 0 ? times[i - 1]! : 0);
    if (i > 0) {
      const gap = (times[i]! - times[i - 1]!) / 1000;
      place += options.skipIdle ? Math.min(gap, IDLE_CAP_MS) : gap;
    }
    at[i] = place;
  }
  return { seqs, times, at, duration: place, skipIdle: options.skipIdle };
}

/** The index of the last event on screen at `position` (ms on the timeline); -1 before the first. */
export function eventAt(timeline: Timeline, position: number): number {
  const { at } = timeline;
  let low = 0;
  let high = at.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (at[mid]! <= position) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

/** The index of event `seq`, or of the first event after it; the event count when none is. */
export function indexOfSeq(timeline: Timeline, seq: number): number {
  const { seqs } = timeline;
  let low = 0;
  let high = seqs.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (seqs[mid]! < seq) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Where on the timeline event `seq` happened (the end when it is past the last event). */
export function positionOfSeq(timeline: Timeline, seq: number): number {
  const index = indexOfSeq(timeline, seq);
  return index < timeline.at.length ? timeline.at[index]! : timeline.duration;
}

/** The position of the next (1) or previous (-1) moment something happened (the slider's arrow keys). */
export function stepEvent(timeline: Timeline, position: number, direction: 1 | -1): number {
  const { at } = timeline;
  if (at.length === 0) return 0;
  const current = eventAt(timeline, position);
  if (direction > 0) {
    // Past events sharing this place (a statement's decision and its approval request land together).
    let next = current + 1;
    while (next < at.length && at[next]! <= position) next++;
    return next < at.length ? at[next]! : timeline.duration;
  }
  let previous = current;
  while (previous >= 0 && at[previous]! >= position) previous--;
  return previous >= 0 ? at[previous]! : 0;
}

/** The wall-clock time (ms since the epoch) at a timeline position, for people. */
export function clockAt(timeline: Timeline, position: number): number | undefined {
  const { at, times } = timeline;
  if (at.length === 0) return undefined;
  const index = Math.max(0, eventAt(timeline, Math.max(0, position)));
  const time = times[index]! / 1000 + (position - at[index]!);
  // Inside a shortened pause the timeline runs slower than the clock: never past the next event.
  return index + 1 < times.length ? Math.min(time, times[index + 1]! / 1000) : time;
}
