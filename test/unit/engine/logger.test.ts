import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../proxy/engine/logger.js';

describe('the gateway log', () => {
  it('writes one text line per entry, quoting values that could forge another line', () => {
    const lines: string[] = [];
    const log = createLogger((line) => lines.push(line));
    log.warn('authentication refused', { client: '127.0.0.1:5000', reason: 'expired\n2026-01-01 INFO  fake entry', code: 'expired', skipped: undefined });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z WARN {2}authentication refused client=127\.0\.0\.1:5000 reason="expired\\n2026-01-01 INFO {2}fake entry" code=expired\n$/);
  });

  it('writes JSON lines with --log-format json', () => {
    const lines: string[] = [];
    createLogger((line) => lines.push(line), 'json').error('upstream login failed', { resource: 'db', statements: 3 });
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', message: 'upstream login failed', resource: 'db', statements: 3 });
    expect(lines[0]!.endsWith('\n')).toBe(true);
  });
});
