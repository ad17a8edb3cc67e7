import { describe, expect, it } from 'vitest';
import { isRetryable, RETRY_MAX_DELAY_MS, retryDelay } from '../../../proxy/audit/postgres/retry-policy.js';

const fromServer = (code: string) => Object.assign(new Error(`server says ${code}`), { code, severity: 'ERROR' });
const fromNode = (code: string) => Object.assign(new Error(`connect ${code}`), { code });

describe('the PostgreSQL audit store retry policy', () => {
  it('waits out what the server or the network will get over', () => {
    for (const code of ['08006', '08001', '57P01', '57P03', '57014', '53300', '53100', '40001', '40P01', '55P03', '58030']) expect(isRetryable(fromServer(code)), code).toBe(true);
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']) expect(isRetryable(fromNode(code)), code).toBe(true);
    expect(isRetryable(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isRetryable(new Error('Query read timeout'))).toBe(true);
    expect(isRetryable(new Error('Client has encountered a connection error and is not queryable'))).toBe(true);
    expect(isRetryable(new AggregateError([fromNode('ECONNREFUSED')], ''))).toBe(true);
  });

  it('gives up on a write that is wrong, however often it is tried', () => {
    // A duplicate key, a missing table, a bad value, no privilege, a bug of ours.
    for (const code of ['23505', '23503', '42P01', '22P02', '42501', 'XX000']) expect(isRetryable(fromServer(code)), code).toBe(false);
    // EPIPE-like five letters from the server are SQLSTATEs, not errnos.
    expect(isRetryable(fromServer('EPIPE'))).toBe(false);
    expect(isRetryable(new TypeError('cannot serialize'))).toBe(false);
    expect(isRetryable('not an error')).toBe(false);
  });

  it('backs off exponentially with jitter, up to a ceiling', () => {
    expect(retryDelay(0, () => 0)).toBe(50);
    expect(retryDelay(0, () => 1)).toBe(100);
    expect(retryDelay(3, () => 1)).toBe(800);
    expect(retryDelay(50, () => 1)).toBe(RETRY_MAX_DELAY_MS);
    expect(retryDelay(50, () => 0)).toBe(RETRY_MAX_DELAY_MS / 2);
  });
});
