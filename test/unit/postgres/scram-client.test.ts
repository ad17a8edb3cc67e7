import type * as NodeCrypto from 'node:crypto';
import { createHash, createHmac, pbkdf2Sync } from 'node:crypto';
import pg from 'pg';
import { serialize } from 'pg-protocol';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { ScramError, md5Password, startScram } from '../../../proxy/postgres/scram-client.js';
import { rawPostgres } from './raw-postgres.js';

// startScram draws its nonce from randomBytes and offers no hook to choose it, so the RFC 7677
// exchange is replayed by handing it the RFC's nonce through a mocked node:crypto.
const nonce = vi.hoisted(() => ({ next: undefined as Buffer | undefined }));
vi.mock('node:crypto', async (importOriginal) => {
  const actual = await importOriginal<typeof NodeCrypto>();
  const randomBytes = ((size: number) => {
    const fixed = nonce.next;
    nonce.next = undefined;
    return fixed ?? actual.randomBytes(size);
  }) as typeof actual.randomBytes;
  return { ...actual, randomBytes };
});

// RFC 7677 section 3: user "user", password "pencil".
const RFC = {
  clientNonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirstBare: 'n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinalWithoutProof: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  proof: 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverSignature: '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

/** RFC 5802 section 3, written out step by step, independent of the code under test. */
function referenceScram(password: string, clientFirstBare: string, serverFirst: string, clientFinalWithoutProof: string): { proof: string; serverSignature: string } {
  const salt = /(?:^|,)s=([^,]*)/.exec(serverFirst)![1]!;
  const iterations = Number(/(?:^|,)i=([^,]*)/.exec(serverFirst)![1]);
  const saltedPassword = pbkdf2Sync(password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
  const clientSignature = createHmac('sha256', storedKey).update(authMessage).digest();
  const proof = Buffer.from(clientKey.map((byte, index) => byte ^ clientSignature[index]!));
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return { proof: proof.toString('base64'), serverSignature: createHmac('sha256', serverKey).update(authMessage).digest('base64') };
}

/** Starts an exchange whose client nonce is `clientNonce` (base64 of the bytes randomBytes returns). */
function startScramWithNonce(password: string, clientNonce: string) {
  nonce.next = Buffer.from(clientNonce, 'base64');
  return startScram(password);
}

describe('SCRAM-SHA-256 against RFC 7677', () => {
  it('has a reference computation that reproduces the RFC test vector', () => {
    expect(referenceScram('pencil', RFC.clientFirstBare, RFC.serverFirst, RFC.clientFinalWithoutProof)).toEqual({ proof: RFC.proof, serverSignature: RFC.serverSignature });
  });

  it('answers the RFC server-first message with the RFC proof for the user name PostgreSQL ignores (*)', async () => {
    const exchange = startScramWithNonce('pencil', RFC.clientNonce);
    expect(exchange.clientFirst).toBe(`n,,n=*,r=${RFC.clientNonce}`);
    const expected = referenceScram('pencil', `n=*,r=${RFC.clientNonce}`, RFC.serverFirst, RFC.clientFinalWithoutProof);
    // Differs from the RFC's proof only because the user name is part of the signed message.
    expect(expected.proof).not.toBe(RFC.proof);
    expect(await exchange.respond(RFC.serverFirst)).toBe(`${RFC.clientFinalWithoutProof},p=${expected.proof}`);
    expect(() => exchange.verifyServerFinal(`v=${expected.serverSignature}`)).not.toThrow();
  });

  it('refuses the RFC server signature, which signs a different user name', async () => {
    const exchange = startScramWithNonce('pencil', RFC.clientNonce);
    await exchange.respond(RFC.serverFirst);
    expect(() => exchange.verifyServerFinal(`v=${RFC.serverSignature}`)).toThrow(ScramError);
  });

  it('keeps the salted passwords of different passwords with the same salt apart', async () => {
    for (const password of ['pencil', 'crayon', 'pencil']) {
      const exchange = startScramWithNonce(password, RFC.clientNonce);
      const expected = referenceScram(password, `n=*,r=${RFC.clientNonce}`, RFC.serverFirst, RFC.clientFinalWithoutProof);
      expect(await exchange.respond(RFC.serverFirst)).toBe(`${RFC.clientFinalWithoutProof},p=${expected.proof}`);
    }
  });

  it('draws a fresh nonce for every exchange', () => {
    const nonces = new Set(Array.from({ length: 20 }, () => /^n,,n=\*,r=([A-Za-z0-9+/]{24})$/.exec(startScram('x').clientFirst)![1]));
    expect(nonces.size).toBe(20);
  });
});

describe('SCRAM-SHA-256 refusals', () => {
  const serverFirst = (attributes: string) => attributes.replace('NONCE', `${RFC.clientNonce}srv`);

  it.each([
    ['a nonce that does not extend ours', 'r=somebodyElse,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', /does not extend our nonce/],
    ['our nonce unextended', `r=${RFC.clientNonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096`, /does not extend our nonce/],
    ['no nonce', 's=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', /does not extend our nonce/],
    ['no salt', serverFirst('r=NONCE,i=4096'), /no usable salt or iteration count/],
    ['an iteration count of 0', serverFirst('r=NONCE,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0'), /no usable salt or iteration count/],
    ['a non-numeric iteration count', serverFirst('r=NONCE,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=many'), /no usable salt or iteration count/],
    ['an iteration count over 10 million', serverFirst('r=NONCE,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=10000001'), /no usable salt or iteration count/],
  ])('refuses a server-first message with %s', async (_, message, reason) => {
    const exchange = startScramWithNonce('pencil', RFC.clientNonce);
    await expect(exchange.respond(message)).rejects.toThrow(reason);
    await expect(startScramWithNonce('pencil', RFC.clientNonce).respond(message)).rejects.toBeInstanceOf(ScramError);
  });

  it('refuses a server-final message before the exchange, with an error, a bad signature or none', async () => {
    expect(() => startScram('pencil').verifyServerFinal('v=AAAA')).toThrow(ScramError);
    const exchange = startScramWithNonce('pencil', RFC.clientNonce);
    await exchange.respond(RFC.serverFirst);
    const good = referenceScram('pencil', `n=*,r=${RFC.clientNonce}`, RFC.serverFirst, RFC.clientFinalWithoutProof).serverSignature;
    const flipped = Buffer.from(good, 'base64');
    flipped[0] = flipped[0]! ^ 1;
    for (const serverFinal of ['e=invalid-proof', '', `v=${flipped.toString('base64')}`, `v=${good.slice(0, 20)}`, `x=${good}`]) {
      expect(() => exchange.verifyServerFinal(serverFinal), serverFinal).toThrow(/the server signature does not match/);
    }
    expect(() => exchange.verifyServerFinal(`v=${good}`)).not.toThrow();
  });
});

describe('md5Password', () => {
  it('hashes as PostgreSQL does: "md5" + md5(md5(password + user) + salt)', () => {
    // Expected values computed with Python's hashlib.
    expect(md5Password('alice', 'pencil', Buffer.from([1, 2, 3, 4]))).toBe('md537cba386e8b90f1e3941a0e792722253');
    expect(md5Password('bob', 'pässwörd', Buffer.from([0xff, 0, 0x80, 7]))).toBe('md5fe4c4fe54c23d77c0993744dd4e2974d');
  });
});

describe('SCRAM-SHA-256 against PostgreSQL', () => {
  const role = `sluice_scram_${process.pid}`;
  let admin: pg.Client;
  beforeAll(async () => {
    admin = new pg.Client({ ...inject('postgres'), database: 'postgres' });
    await admin.connect();
  });
  afterAll(async () => {
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  async function withRolePassword(password: string): Promise<void> {
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.query(`CREATE ROLE ${role} LOGIN PASSWORD ${admin.escapeLiteral(password)}`);
  }

  it('logs in, verifying the server signature, and runs a query', async () => {
    const session = await rawPostgres();
    const answer = await session.exchange(serialize.query('SELECT 1'));
    session.close();
    expect(answer.map((message) => String.fromCharCode(message[0]!))).toEqual(['T', 'D', 'C', 'Z']);
  });

  it('is refused by PostgreSQL with a wrong password', async () => {
    await expect(rawPostgres({ password: 'not-the-password' })).rejects.toThrow(/28P01/);
  });

  it('logs in with a password PostgreSQL normalises (NFKC: ligatures, full-width letters, no-break spaces)', async () => {
    const password = 'ﬁle\u00a0Ｐａｓｓ-ⅷ';
    await withRolePassword(password);
    const session = await rawPostgres({ user: role, password });
    session.close();
  });

  // BUG (scram-client.ts saltedPassword, line 73): the password is prepared with NFKC only, while
  // PostgreSQL (and libpq) apply SASLprep (RFC 4013), which also removes characters "commonly
  // mapped to nothing" such as U+00AD SOFT HYPHEN and U+200B ZERO WIDTH SPACE. A role whose
  // password contains one of them logs in with psql but the gateway's upstream login fails 28P01.
  it('logs in with a password holding characters SASLprep maps to nothing', async () => {
    const password = 'soft\u00adhyphen\u200b';
    await withRolePassword(password);
    const session = await rawPostgres({ user: role, password });
    session.close();
  });
});
