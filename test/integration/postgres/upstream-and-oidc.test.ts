import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '../../../proxy/postgres/tls-material.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { TestOidcIssuer } from '../../helpers/oidc-issuer.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

let db: TestDatabase;
let inner: TestGateway;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.filename);
  const admin = await db.connect();
  await admin.query("CREATE TABLE t AS SELECT 'through two gateways' AS v");
  // The inner gateway speaks TLS (a self-signed certificate) and cleartext-password login with
  // its token: as an upstream, it exercises the outer gateway's TLS verification and cleartext path.
  inner = await startTestGateway(db, { tls: 'auto' });
});

afterAll(async () => {
  await inner?.close();
  await db?.drop();
});

type PgError = Error & { code?: string };

describe('upstream TLS and password kinds (a gateway in front of a gateway)', () => {
  it('logs in upstream over TLS verified against the given CA, with a cleartext password', async () => {
    const outer = await startTestGateway(db, {
      upstream: { host: '127.0.0.1', port: inner.port },
      upstreamDatabase: inner.resource,
      upstreamPassword: inner.token,
      sslmode: 'verify-full',
      ca: join(inner.dir, 'data', 'tls', 'cert.pem'),
    });
    try {
      const client = await outer.connect({ application_name: 'double-hop' });
      expect((await client.query('SELECT v FROM t')).rows).toEqual([{ v: 'through two gateways' }]);
      await client.end();
      // The inner gateway saw the outer one's login, with the client's application_name passed on.
      await inner.engine.store.flush();
      const sessions = await inner.engine.store.listSessions({ limit: 10 });
      expect(sessions.find((session) => session.application === 'double-hop')).toMatchObject({ identity: { subject: 'ci-job' } });
    } finally {
      await outer.close();
    }
  });

  it('refuses an upstream whose certificate the CA does not vouch for', async () => {
    const { writeFile } = await import('node:fs/promises');
    const strangerCa = join(inner.dir, 'stranger.pem');
    await writeFile(strangerCa, createSelfSignedCertificate({ hostnames: ['127.0.0.1'] }).cert);
    const outer = await startTestGateway(db, {
      upstream: { host: '127.0.0.1', port: inner.port },
      upstreamDatabase: inner.resource,
      upstreamPassword: inner.token,
      sslmode: 'verify-full',
      ca: strangerCa,
    });
    try {
      const client = new pg.Client(outer.clientConfig());
      const error = (await client.connect().then(
        () => undefined,
        (failure: PgError) => failure,
      )) as PgError;
      expect(error.code).toBe('08001');
      expect(error.message).toMatch(/TLS with the upstream of resource "testdb" failed: .*(self.signed|unable to verify|certificate)/i);
      expect(error.message).not.toContain(inner.token);
    } finally {
      await outer.close();
    }
  });
});

describe('refusals inside TLS', () => {
  it('answers a bad startup packet sent over TLS with a FATAL over TLS, not plaintext under it', async () => {
    const { connect } = await import('node:net');
    const tls = await import('node:tls');
    const raw = connect({ host: '127.0.0.1', port: inner.port });
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(Buffer.from([0, 0, 0, 8, 4, 210, 22, 47])); // SSLRequest
    const answer = await new Promise<Buffer>((resolve) => raw.once('data', resolve));
    expect(answer.toString()).toBe('S');
    const secure = tls.connect({ socket: raw, rejectUnauthorized: false });
    await new Promise((resolve) => secure.once('secureConnect', resolve));
    const reply = new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      secure.on('data', (chunk: Buffer) => chunks.push(chunk));
      secure.on('error', () => resolve(`tls error: ${Buffer.concat(chunks).toString('latin1')}`));
      secure.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    });
    // Protocol 2.0: refused with 0A000.
    secure.write(Buffer.from([0, 0, 0, 8, 0, 2, 0, 0]));
    const text = await reply;
    expect(text).toContain('0A000');
    expect(text).toContain('unsupported frontend protocol 2.0');
  });
});

describe('OIDC id tokens as the password', () => {
  let issuer: TestOidcIssuer;
  let gateway: TestGateway;

  beforeAll(async () => {
    issuer = await TestOidcIssuer.start();
    gateway = await startTestGateway(db, { tls: 'off', oidcIssuer: issuer.url });
  });

  afterAll(async () => {
    await gateway?.close();
    await issuer?.stop();
  });

  it('accepts a CI job token and records who the job was', async () => {
    const jwt = await issuer.issue();
    const client = await gateway.connect({ password: jwt, application_name: 'ci-job' });
    expect((await client.query('SELECT v FROM t')).rows[0].v).toBe('through two gateways');
    await client.end();
    await gateway.engine.store.flush();
    const session = (await gateway.engine.store.listSessions({ limit: 5 })).find((candidate) => candidate.application === 'ci-job');
    expect(session?.identity).toEqual({ subject: 'repo:acme/api:ref:refs/heads/main', issuer: issuer.url, method: 'oidc', groups: ['ci', 'repo:acme/api'] });
  });

  it('refuses an expired token with 28P01 saying so', async () => {
    const jwt = await issuer.issue({}, { expiresIn: -600 });
    const error = (await new pg.Client(gateway.clientConfig({ password: jwt })).connect().then(
      () => undefined,
      (failure: PgError) => failure,
    )) as PgError;
    expect(error.code).toBe('28P01');
    expect(error.message).toMatch(/expired/);
    expect(error.message).not.toContain(jwt);
  });

  it('answers "try again" (08004), not "wrong password", when the issuer cannot be reached', async () => {
    const lonely = await TestOidcIssuer.start();
    const offline = await startTestGateway(db, { tls: 'off', oidcIssuer: lonely.url });
    try {
      const jwt = await lonely.issue();
      await lonely.stop();
      const error = (await new pg.Client(offline.clientConfig({ password: jwt })).connect().then(
        () => undefined,
        (failure: PgError) => failure,
      )) as PgError;
      expect(error.code).toBe('08004');
      expect(error.message).toMatch(/identity provider cannot be reached/);
    } finally {
      await offline.close();
    }
  });
});
