import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, connect, createServer, type ConnectionOptions } from 'node:tls';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { derInteger, derNamedBits, derOid, derSet, derTime, derTlv, derUtf8String } from '../../../proxy/postgres/der.js';
import {
  SELF_SIGNED_COMMON_NAME,
  TlsMaterialError,
  createSelfSignedCertificate,
  loadConfiguredTls,
  loadOrCreateSelfSigned,
  type TlsMaterial,
} from '../../../proxy/postgres/tls-material.js';
import { findProgram } from '../../helpers/external-program.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-tls-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Completes a TLS handshake against `material` with verification on; resolves the client's view. */
async function handshake(material: TlsMaterial, options: ConnectionOptions): Promise<{ authorized: boolean; error?: Error }> {
  const server = createServer({ cert: material.cert, key: material.key }, (socket) => socket.end());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  try {
    return await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port, ca: material.cert, rejectUnauthorized: true, ...options }, () => {
        resolve({ authorized: socket.authorized });
        socket.end();
      });
      socket.on('error', (error) => resolve({ authorized: false, error }));
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

async function expectTlsError(promise: Promise<unknown>, file: string, reason: RegExp): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TlsMaterialError);
  const tlsError = error as TlsMaterialError;
  expect(tlsError.file).toBe(file);
  expect(tlsError.reason).toMatch(reason);
  expect(tlsError.message).toContain(file);
}

describe('DER encoder', () => {
  it('encodes INTEGERs minimally, with a zero byte before a set high bit', () => {
    expect(hex(derInteger(0))).toBe('020100');
    expect(hex(derInteger(127))).toBe('02017f');
    expect(hex(derInteger(128))).toBe('02020080');
    expect(hex(derInteger(256))).toBe('02020100');
    expect(hex(derInteger(Buffer.from([0, 0, 0x12])))).toBe('020112');
    expect(() => derInteger(-1)).toThrow(RangeError);
  });

  it('encodes OIDs with base-128 arcs', () => {
    expect(hex(derOid('1.2.840.113549'))).toBe('06062a864886f70d');
    expect(hex(derOid('2.5.29.17'))).toBe('0603551d11');
    expect(() => derOid('1.40')).toThrow(RangeError);
  });

  it('uses the long length form past 127 bytes', () => {
    expect(hex(derTlv(0x04, Buffer.alloc(200))).slice(0, 6)).toBe('0481c8');
    expect(hex(derTlv(0x04, Buffer.alloc(300))).slice(0, 8)).toBe('0482012c');
  });

  it('drops trailing zero bits of a named bit list (KeyUsage)', () => {
    expect(hex(derNamedBits([0]))).toBe('03020780'); // digitalSignature
    expect(hex(derNamedBits([0, 2]))).toBe('030205a0'); // + keyEncipherment
    expect(hex(derNamedBits([8]))).toBe('0303070080');
  });

  it('sorts SET OF elements', () => {
    expect(hex(derSet(derUtf8String('b'), derUtf8String('a')))).toBe('31060c01610c0162');
  });

  it('writes UTCTime for 1950..2049 and GeneralizedTime otherwise, in whole UTC seconds', () => {
    const text = (date: string) => {
      const tlv = derTime(new Date(date));
      return `${tlv[0]!.toString(16)}:${tlv.subarray(2).toString('ascii')}`;
    };
    expect(text('2049-12-31T23:59:59.999Z')).toBe('17:491231235959Z');
    expect(text('2050-01-01T00:00:00Z')).toBe('18:20500101000000Z');
    expect(text('1950-01-01T00:00:00Z')).toBe('17:500101000000Z');
    expect(text('1949-12-31T23:59:59Z')).toBe('18:19491231235959Z');
  });
});

describe('createSelfSignedCertificate', () => {
  it('encodes a notAfter past 2049 as GeneralizedTime that X.509 parsers read back', () => {
    const { cert } = createSelfSignedCertificate({ notAfter: new Date('2051-06-01T12:00:00Z') });
    expect(new Date(new X509Certificate(cert).validTo).toISOString()).toBe('2051-06-01T12:00:00.000Z');
  });

  it('puts IP literals among the hostnames into IP entries and refuses names a certificate cannot hold', () => {
    const { cert } = createSelfSignedCertificate({ hostnames: ['10.1.2.3', '[fd00::5]', 'Db.Example.COM.'] });
    const san = new X509Certificate(cert).subjectAltName ?? '';
    expect(san).toContain('IP Address:10.1.2.3');
    expect(san).toContain('IP Address:FD00:0:0:0:0:0:0:5');
    expect(san).toContain('DNS:db.example.com');
    expect(() => createSelfSignedCertificate({ hostnames: ['bad host'] })).toThrow(/bad host/);
  });
});

describe('loadOrCreateSelfSigned', () => {
  it('generates a usable self-signed pair on first start', async () => {
    const material = await loadOrCreateSelfSigned(dir, ['db.internal', 'gateway.example.com']);
    expect(material.source).toBe('generated');

    const cert = new X509Certificate(material.cert);
    expect(cert.subject).toBe(`CN=${SELF_SIGNED_COMMON_NAME}`);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.fingerprint256).toBe(material.fingerprint256);
    expect(cert.ca).toBe(false);
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // node reports extKeyUsage here: serverAuth
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkPrivateKey(createPrivateKey(material.key))).toBe(true);
    expect(Buffer.from(cert.serialNumber, 'hex')[0]! & 0x80).toBe(0);

    const now = Date.now();
    expect(new Date(cert.validFrom).getTime()).toBeLessThanOrEqual(now - 3_500_000);
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(now + 9.9 * 365 * 86_400_000);

    for (const name of ['DNS:localhost', 'DNS:db.internal', 'DNS:gateway.example.com', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1']) {
      expect(cert.subjectAltName?.split(', ')).toContain(name);
    }
    expect(cert.checkHost('gateway.example.com')).toBe('gateway.example.com');
    expect(cert.checkIP('::1')).toBe('::1');

    expect((await stat(join(dir, 'tls', 'key.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'tls'))).mode & 0o777).toBe(0o700);
    expect(await readFile(join(dir, 'tls', 'cert.pem'), 'utf8')).toBe(material.cert);
  });

  it('reuses the pair on the next start, fingerprint unchanged', async () => {
    const first = await loadOrCreateSelfSigned(dir);
    const second = await loadOrCreateSelfSigned(dir, ['new-name.example']);
    expect(second).toEqual({ ...first, source: 'reused' });
  });

  it('lets a client that trusts the certificate complete a verified handshake, by name and by IP', async () => {
    const material = await loadOrCreateSelfSigned(dir, ['db.internal']);
    expect(await handshake(material, { servername: 'localhost' })).toEqual({ authorized: true });
    expect(await handshake(material, { servername: 'db.internal' })).toEqual({ authorized: true });
    // No servername: node checks the identity against host, an IP that must be in the SAN.
    expect(await handshake(material, {})).toEqual({ authorized: true });

    const peer = { subject: { CN: SELF_SIGNED_COMMON_NAME }, subjectaltname: new X509Certificate(material.cert).subjectAltName };
    // checkServerIdentity reads only these two fields of the peer certificate.
    const asPeer = peer as unknown as Parameters<typeof checkServerIdentity>[1];
    expect(checkServerIdentity('127.0.0.1', asPeer)).toBeUndefined();
    expect(checkServerIdentity('::1', asPeer)).toBeUndefined();
    expect(checkServerIdentity('elsewhere.example', asPeer)).toBeInstanceOf(Error);

    const wrongName = await handshake(material, { servername: 'elsewhere.example' });
    expect(wrongName.error?.message).toMatch(/elsewhere\.example/);
    const untrusted = await handshake(material, { servername: 'localhost', ca: createSelfSignedCertificate().cert });
    expect(untrusted.authorized).toBe(false);
  });

  it('writes a certificate that openssl x509 parses', async (context) => {
    const openssl = findProgram('openssl');
    if (!openssl) {
      context.skip('openssl not found on PATH');
      return;
    }
    await loadOrCreateSelfSigned(dir, ['db.internal']);
    const certFile = join(dir, 'tls', 'cert.pem');
    const { stdout } = await promisify(execFile)(openssl, ['x509', '-noout', '-text', '-in', certFile]);
    expect(stdout).toContain('Signature Algorithm: ecdsa-with-SHA256');
    expect(stdout).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(stdout).toMatch(/Key Usage: critical\s+Digital Signature\n/);
    expect(stdout).toContain('TLS Web Server Authentication');
    expect(stdout).toContain('DNS:localhost, DNS:db.internal, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1');
    const verified = await promisify(execFile)(openssl, ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', certFile, certFile]);
    expect(verified.stdout).toContain(': OK');
  });

  it('refuses a damaged generated pair instead of replacing it, naming the file', async () => {
    await loadOrCreateSelfSigned(dir);
    const keyFile = join(dir, 'tls', 'key.pem');
    await writeFile(keyFile, 'not a key\n');
    await expectTlsError(loadOrCreateSelfSigned(dir), keyFile, /not a PEM private key/);
    expect(await readFile(keyFile, 'utf8')).toBe('not a key\n');
  });

  it('refuses half a pair: only both files missing means generate', async () => {
    await loadOrCreateSelfSigned(dir);
    const certFile = join(dir, 'tls', 'cert.pem');
    await rm(certFile);
    await expectTlsError(loadOrCreateSelfSigned(dir), certFile, /is missing but .*key\.pem exists/);
  });

  it('says so when data_dir/tls is not a directory', async () => {
    await writeFile(join(dir, 'tls'), 'oops');
    await expectTlsError(loadOrCreateSelfSigned(dir), join(dir, 'tls'), /cannot be created/);
  });

  it('generates into an existing tls directory that holds other files', async () => {
    await mkdir(join(dir, 'tls'));
    await writeFile(join(dir, 'tls', 'README'), 'operator notes');
    expect((await loadOrCreateSelfSigned(dir)).source).toBe('generated');
    expect((await loadOrCreateSelfSigned(dir)).source).toBe('reused');
  });
});

describe('loadConfiguredTls', () => {
  async function writePair(name: string): Promise<{ cert: string; key: string }> {
    const pair = createSelfSignedCertificate();
    const files = { cert: join(dir, `${name}-cert.pem`), key: join(dir, `${name}-key.pem`) };
    await writeFile(files.cert, pair.cert);
    await writeFile(files.key, pair.key);
    return files;
  }

  it('loads a matching pair as configured', async () => {
    const files = await writePair('a');
    const material = await loadConfiguredTls(files);
    expect(material.source).toBe('configured');
    expect(material.cert).toBe(await readFile(files.cert, 'utf8'));
    expect(material.fingerprint256).toBe(new X509Certificate(material.cert).fingerprint256);
  });

  it('says which file is missing', async () => {
    const files = await writePair('a');
    const missing = join(dir, 'nope.pem');
    await expectTlsError(loadConfiguredTls({ ...files, cert: missing }), missing, /is missing/);
    await expectTlsError(loadConfiguredTls({ ...files, key: missing }), missing, /is missing/);
  });

  it('says which file cannot be read', async () => {
    const files = await writePair('a');
    await expectTlsError(loadConfiguredTls({ ...files, key: dir }), dir, /is a directory/);
  });

  it('says which file is not PEM', async () => {
    const files = await writePair('a');
    const garbage = join(dir, 'garbage.pem');
    await writeFile(garbage, Buffer.from([0x30, 0x82, 0xff, 0x00, 0x13]));
    await expectTlsError(loadConfiguredTls({ ...files, cert: garbage }), garbage, /not a PEM certificate/);
    await expectTlsError(loadConfiguredTls({ ...files, key: garbage }), garbage, /not a PEM private key/);
    const broken = join(dir, 'broken.pem');
    await writeFile(broken, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    await expectTlsError(loadConfiguredTls({ ...files, cert: broken }), broken, /does not parse/);
  });

  it('notices swapped cert and key files', async () => {
    const files = await writePair('a');
    await expectTlsError(loadConfiguredTls({ cert: files.key, key: files.cert }), files.key, /swapped/);
  });

  it('refuses a key that belongs to another certificate', async () => {
    const a = await writePair('a');
    const b = await writePair('b');
    await expectTlsError(loadConfiguredTls({ cert: a.cert, key: b.key }), b.key, new RegExp(`does not match the certificate in ${a.cert}`));
  });

  it('refuses a passphrase-protected key with what to do', async () => {
    const files = await writePair('a');
    const encrypted = createPrivateKey(await readFile(files.key, 'utf8')).export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' });
    await writeFile(files.key, encrypted);
    await expectTlsError(loadConfiguredTls(files), files.key, /encrypted with a passphrase/);
  });
});
