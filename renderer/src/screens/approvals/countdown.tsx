import { useEffect, useState } from 'react';
import { formatTime } from '../../ui/format.js';

// The time left on a held request, ticking. The last minute is urgent (red, bold): the requester
// is blocked, and an undecided request expires as a denial.

export const URGENT_MS = 60_000;

/** The current time, re-read every `everyMs` (aligned to the second, so countdowns tick together). */
export function useNow(everyMs = 1_000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      setNow(Date.now());
      timer = setTimeout(tick, everyMs - (Date.now() % everyMs) + 5);
    };
    timer = setTimeout(tick, everyMs - (Date.now() % everyMs) + 5);
    return () => clearTimeout(timer);
  }, [everyMs]);
  return now;
}

/** "4:05", "0:09", "1:02:30". */
export function clockWords(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1_000));
  const hours = Math.floor(total / 3_600);
  const minutes = Math.floor((total % 3_600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

export function Countdown({ expiresAt }: { readonly expiresAt: number }) {
  const now = useNow();
  const left = expiresAt - now;
  const state = left <= 0 ? 'over' : left <= URGENT_MS ? 'urgent' : 'normal';
  const words = left <= 0 ? 'expiring' : `${clockWords(left)} left`;
  return (
    <span
      className={`countdown countdown-${state}`}
      role="timer"
      title={`Expires at ${formatTime(expiresAt)}; if nobody decides by then, the statement is refused`}
      aria-label={left <= 0 ? 'expiring now' : `${clockWords(left)} left to decide`}
    >
      <time dateTime={new Date(expiresAt).toISOString()}>{words}</time>
    </span>
  );
}
