// The player's clock as plain state transitions (no timers, no DOM): the component drives it
// with requestAnimationFrame, and tests drive it with numbers.

export const SPEEDS = [0.5, 1, 2, 4, 8, 16] as const;

export interface Playback {
  /** ms on the timeline. */
  readonly position: number;
  readonly playing: boolean;
  /** One of SPEEDS. */
  readonly speed: number;
}

export const PAUSED_AT_START: Playback = { position: 0, playing: false, speed: 1 };

/** `elapsed` ms of wall clock later: moved on by elapsed × speed, and stopped at the end. */
export function advance(state: Playback, elapsed: number, duration: number): Playback {
  if (!state.playing) return state;
  const position = Math.min(duration, state.position + Math.max(0, elapsed) * state.speed);
  return { ...state, position, playing: position < duration };
}

/** Play or pause; playing from the end starts over, as a video player does. */
export function togglePlaying(state: Playback, duration: number): Playback {
  if (state.playing) return { ...state, playing: false };
  return { ...state, playing: true, position: state.position >= duration ? 0 : state.position };
}

export function seekTo(state: Playback, position: number, duration: number): Playback {
  return { ...state, position: clamp(position, duration) };
}

export function withSpeed(state: Playback, speed: number): Playback {
  return SPEEDS.includes(speed as (typeof SPEEDS)[number]) ? { ...state, speed } : state;
}

/** The next faster (1) or slower (-1) speed; the same at either end. */
export function stepSpeed(speed: number, direction: 1 | -1): number {
  const index = SPEEDS.findIndex((value) => value >= speed);
  const next = (index === -1 ? SPEEDS.length - 1 : index) + direction;
  return SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, next))]!;
}

export function clamp(position: number, duration: number): number {
  return Math.min(Math.max(0, Number.isFinite(position) ? position : 0), duration);
}

/** "1:05", "12:00", "1:02:03": a place on the timeline. */
export function formatClock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}
