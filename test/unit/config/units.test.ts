import { describe, expect, it } from 'vitest';
import { isLoopbackHost } from '../../../proxy/common/urls.js';
import { formatDuration, parseDuration, parseHostPort, parseSize } from '../../../proxy/config/units.js';

describe('config units', () => {
  it('parses durations into milliseconds, bare numbers as seconds', () => {
    expect([parseDuration('500ms'), parseDuration('30s'), parseDuration('10m'), parseDuration('1.5h'), parseDuration('90d'), parseDuration(45)]).toEqual([
      500, 30_000, 600_000, 5_400_000, 7_776_000_000, 45_000,
    ]);
    expect([parseDuration('10 minutes'), parseDuration('-5s'), parseDuration(''), parseDuration(Number.NaN)]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('formats durations back in the largest exact unit', () => {
    expect([600_000, 90 * 86_400_000, 30_000, 1_500, 0].map(formatDuration)).toEqual(['10m', '90d', '30s', '1500ms', '0ms']);
    for (const text of ['10m', '90d', '5s', '250ms', '2h']) expect(formatDuration(parseDuration(text)!)).toBe(text);
  });

  it('parses sizes in decimal and binary units', () => {
    expect([parseSize('50MB'), parseSize('1GiB'), parseSize('512kb'), parseSize(1024), parseSize('7')]).toEqual([50_000_000, 1_073_741_824, 512_000, 1024, 7]);
    expect([parseSize('lots'), parseSize(1.5), parseSize('5 TB')]).toEqual([undefined, undefined, undefined]);
  });

  it('parses listener addresses including IPv6 and port 0', () => {
    expect(parseHostPort('127.0.0.1:6432')).toEqual({ host: '127.0.0.1', port: 6432 });
    expect(parseHostPort('[::1]:7070')).toEqual({ host: '::1', port: 7070 });
    expect(parseHostPort('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect([parseHostPort('6432'), parseHostPort('host:70000'), parseHostPort('::1:80')]).toEqual([undefined, undefined, undefined]);
  });

  it('knows loopback hosts', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '::1', '[::1]'].every(isLoopbackHost)).toBe(true);
    expect(['10.0.0.1', '0.0.0.0', 'example.com', '::'].some(isLoopbackHost)).toBe(false);
  });
});
