// Times and sizes as people read them. Audit times are microseconds; API times milliseconds.

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' });

export function formatTime(ms: number): string {
  return timeFormat.format(ms);
}

export function formatDateTime(ms: number): string {
  return dateTimeFormat.format(ms);
}

/** "4 s", "2 min 05 s", "1 h 03 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${String(seconds % 60).padStart(2, '0')} s`;
  return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min`;
}

/** "3 s ago", "5 min ago", or the date for anything older than a day. */
export function formatAgo(ms: number, now = Date.now()): string {
  const elapsed = now - ms;
  if (elapsed < 0) return formatTime(ms);
  if (elapsed < 86_400_000) return `${formatDuration(elapsed).replace(/ \d+ s$/, '')} ago`;
  return formatDateTime(ms);
}

export function formatCount(n: number): string {
  return n.toLocaleString();
}
