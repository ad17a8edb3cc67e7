import { describe, expect, it } from 'vitest';
import { errorText, redactor, storeLocation } from '../../../proxy/audit/postgres/store-location.js';

describe('the PostgreSQL audit store location', () => {
  it('names the store host:port/database, never the user or password', () => {
    const location = storeLocation('postgres://audit:s3cret%2Fpw@db.internal:6432/sluice_audit?sslmode=disable');
    expect(location.display).toBe('db.internal:6432/sluice_audit');
    expect(storeLocation('postgresql://u:p@[::1]:5432/a').display).toBe('[::1]:5432/a');
  });

  it('removes the password from any text, as written in the URL and decoded', () => {
    const location = storeLocation('postgres://audit:s3cret%2Fpw@db:5432/a');
    expect(location.redact('auth with s3cret/pw and s3cret%2Fpw failed')).toBe('auth with *** and *** failed');
    const error = Object.assign(new Error('password "s3cret/pw" rejected'), { code: '28P01', input: 's3cret/pw' });
    const described = location.describe('the audit store db:5432/a cannot be reached', error);
    expect(described.message).toBe('the audit store db:5432/a cannot be reached: password "***" rejected');
    expect(described).toMatchObject({ code: '28P01' });
    expect(described.cause).toBeUndefined();
    expect(JSON.stringify(described)).not.toContain('s3cret');
  });

  it('replaces the longest form first, so no piece of the password is left behind', () => {
    expect(redactor(['ab', 'abcd'])('xabcdx abx')).toBe('x***x ***x');
  });

  it('refuses text that is not a postgres:// URL without repeating it', () => {
    expect(() => storeLocation('host=db password=hunter22 dbname=a')).toThrow(/^the audit store's connection string is not a postgres:\/\/ URL; expected postgres:\/\/user:password@host:port\/database$/);
    let message = '';
    try {
      storeLocation('postgres://u:hunter22@db:notaport/a');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/is not a PostgreSQL URL/);
    expect(message).not.toContain('hunter22');
  });

  it('sets timeouts on every connection, and the idle-in-transaction one on the writer', () => {
    const location = storeLocation('postgres://u:p@db:5432/a');
    expect(location.clientConfig('writer')).toMatchObject({ statement_timeout: 30_000, idle_in_transaction_session_timeout: 15_000, keepAlive: true, application_name: 'sluice-audit-writer' });
    expect(location.clientConfig('reader')).not.toHaveProperty('idle_in_transaction_session_timeout');
  });

  it('reads the words of an error that has none of its own', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:5432'), { code: 'ECONNREFUSED' });
    expect(errorText(new AggregateError([refused], ''))).toBe('connect ECONNREFUSED 10.0.0.1:5432');
    expect(errorText(Object.assign(new Error(''), { code: 'ETIMEDOUT' }))).toBe('ETIMEDOUT');
    expect(errorText('plain')).toBe('plain');
  });
});
