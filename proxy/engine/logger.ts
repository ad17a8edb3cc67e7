/** Structured fields on a log line. Values are printed as given: never pass a secret. */
export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export type LogFormat = 'text' | 'json';

/** A logger writing one line per entry: `TIME LEVEL message key=value ...` or JSON lines. */
export function createLogger(write: (line: string) => void, format: LogFormat = 'text'): Logger {
  const emit = (level: 'info' | 'warn' | 'error', message: string, fields: LogFields = {}) => {
    const time = new Date().toISOString();
    const defined = Object.entries(fields).filter(([, value]) => value !== undefined);
    if (format === 'json') {
      write(`${JSON.stringify({ time, level, message, ...Object.fromEntries(defined) })}\n`);
      return;
    }
    const rest = defined.map(([key, value]) => `${key}=${quote(String(value))}`).join(' ');
    write(`${time} ${level.toUpperCase().padEnd(5)} ${message}${rest ? ` ${rest}` : ''}\n`);
  };
  return {
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

/** A logger that drops everything (tests that do not read logs). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

// Quoted when it would otherwise be ambiguous; JSON escaping keeps a value on one line (no log forging).
function quote(value: string): string {
  return /^[\w.:/@\-[\]]+$/.test(value) ? value : JSON.stringify(value);
}
