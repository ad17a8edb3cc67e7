import { useEffect, useRef, type Dispatch, type SetStateAction } from 'react';
import { advance, type Playback } from './playback.js';

/** While playing, moves the position on every animation frame by the wall-clock time since the last. */
export function usePlaybackClock(playing: boolean, duration: number, setPlayback: Dispatch<SetStateAction<Playback>>): void {
  const durationRef = useRef(duration);
  durationRef.current = duration;
  useEffect(() => {
    if (!playing) return;
    let last = performance.now();
    let request = requestAnimationFrame(function tick(now) {
      // A hidden tab gets no frames; a long gap must not jump the playback far ahead in one step.
      const elapsed = Math.min(now - last, 250);
      last = now;
      setPlayback((state) => advance(state, elapsed, durationRef.current));
      request = requestAnimationFrame(tick);
    });
    return () => cancelAnimationFrame(request);
  }, [playing, setPlayback]);
}
