import { performance } from 'node:perf_hooks';

// Event times in microseconds since the epoch. Date.now() has only milliseconds and many
// statements take less; performance.now() has microseconds but drifts from the wall clock over
// days (NTP slews the one, not the other). So: the monotonic clock, re-anchored to the wall
// clock whenever they differ by more than a millisecond. Order within a session is `seq`, not time.

let offsetMs = Date.now() - performance.now();

export function nowMicros(): number {
  const now = performance.now();
  const wall = Date.now();
  if (Math.abs(offsetMs + now - wall) > 1) offsetMs = wall - now;
  return Math.round((offsetMs + now) * 1000);
}
