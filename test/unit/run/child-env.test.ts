import { describe, expect, it } from 'vitest';
import type { RunGrant } from '../../../proxy/run/run-service.js';
import { childEnvironment, envName, ResourceChoiceError } from '../../../proxy/run/child-env.js';

const CREDENTIAL = 'sluice_run_abc+/=';

function grant(overrides: Partial<RunGrant> = {}): RunGrant {
  return {
    run: 'run_1',
    credential: CREDENTIAL,
    control: 'control',
    expiresAt: 0,
    terminalSession: 'S1',
    postgres: { host: '127.0.0.1', port: 6432, tls: true, certificate: 'PEM', resources: ['orders-db'] },
    http: [
      { name: 'billing-api', host: '0.0.0.0', port: 8080, secure: false, path: '/r/billing-api' },
      { name: 'crm', host: '10.0.0.5', port: 8443, secure: true, path: '' },
    ],
    ...overrides,
  };
}

describe("the command's environment", () => {
  it('gives libpq variables and DATABASE_URL for the only PostgreSQL resource, verified against the gateway certificate', () => {
    const env = childEnvironment({ PATH: '/bin', HOME: '/home/ci' }, grant(), { gatewayHost: 'gw.example', certificateFile: '/tmp/x/ca.pem' });
    expect(env).toMatchObject({
      PATH: '/bin',
      HOME: '/home/ci',
      PGHOST: '127.0.0.1',
      PGPORT: '6432',
      PGDATABASE: 'orders-db',
      PGUSER: 'sluice',
      PGPASSWORD: CREDENTIAL,
      PGSSLMODE: 'verify-full',
      PGSSLROOTCERT: '/tmp/x/ca.pem',
      SLUICE_RUN: 'run_1',
    });
    // The URL carries the credential encoded, so a client reading it gets the same bytes.
    const url = new URL(env.DATABASE_URL!);
    expect(decodeURIComponent(url.password)).toBe(CREDENTIAL);
    expect(url.pathname).toBe('/orders-db');
    expect(url.searchParams.get('sslmode')).toBe('verify-full');
    expect(url.searchParams.get('sslrootcert')).toBe('/tmp/x/ca.pem');
  });

  it('never passes on the caller\'s own SLUICE_TOKEN', () => {
    const env = childEnvironment({ SLUICE_TOKEN: 'long-lived', OTHER: 'kept' }, grant(), { gatewayHost: 'gw' });
    expect(env.SLUICE_TOKEN).toBeUndefined();
    expect(env.OTHER).toBe('kept');
  });

  it('withholds every variable holding an upstream secret an embedded gateway read', () => {
    const env = childEnvironment({ API_TOKEN: 's3cr3t-value', AUTH: 'Bearer s3cr3t-value', SHORT: 'abc', KEEP: 'x' }, grant(), { gatewayHost: 'gw', secrets: ['s3cr3t-value', 'abc'] });
    expect(env.API_TOKEN).toBeUndefined();
    expect(env.AUTH).toBeUndefined();
    expect(env.SHORT).toBe('abc');
    expect(env.KEEP).toBe('x');
  });

  it('reaches wildcard listeners at the gateway host, and encrypts without verifying where the certificate names another host', () => {
    const env = childEnvironment({}, grant({ postgres: { host: '0.0.0.0', port: 6432, tls: true, certificate: 'PEM', resources: ['orders-db'] } }), { gatewayHost: 'gw.example', certificateFile: '/c.pem' });
    expect(env.PGHOST).toBe('gw.example');
    expect(env.PGSSLMODE).toBe('require');
    expect(env.PGSSLROOTCERT).toBeUndefined();
    expect(childEnvironment({}, grant({ postgres: { host: '127.0.0.1', port: 1, tls: false, resources: ['orders-db'] } }), { gatewayHost: 'x' }).PGSSLMODE).toBe('disable');
  });

  it('gives one SLUICE_<NAME>_URL per HTTP resource with the credential as its password', () => {
    const env = childEnvironment({}, grant(), { gatewayHost: 'gw.example' });
    const billing = new URL(env.SLUICE_BILLING_API_URL!);
    expect(billing.origin).toBe('http://gw.example:8080');
    expect(billing.pathname).toBe('/r/billing-api');
    expect(decodeURIComponent(billing.password)).toBe(CREDENTIAL);
    expect(env.SLUICE_CRM_URL).toMatch(/^https:\/\/sluice:[^@]+@10\.0\.0\.5:8443$/);
    expect(envName('a.b-c  d')).toBe('A_B_C_D');
  });

  it('asks which resource when several are open, and refuses one that is not', () => {
    const several = grant({ postgres: { host: '127.0.0.1', port: 1, tls: false, resources: ['a', 'b'] } });
    expect(() => childEnvironment({}, several, { gatewayHost: 'x' })).toThrow(new ResourceChoiceError('several PostgreSQL resources are open to you (a, b): pass --resource NAME for PGDATABASE and DATABASE_URL'));
    expect(childEnvironment({}, several, { gatewayHost: 'x', resource: 'b' }).PGDATABASE).toBe('b');
    expect(() => childEnvironment({}, several, { gatewayHost: 'x', resource: 'c' })).toThrow(/--resource c is not a PostgreSQL resource open to you here \(yours: a, b\)/);
    expect(childEnvironment({}, grant({ postgres: undefined }), { gatewayHost: 'x' }).PGDATABASE).toBeUndefined();
  });
});
