// TLS certificate and key for the PostgreSQL listener's SSLRequest answer: either the operator's
// files, or a self-signed pair Sluice generates once in data_dir and then keeps, because clients
// may pin its fingerprint. No npm dependency: node:crypto makes the key and signs, der.ts
// encodes the certificate.
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { domainToASCII } from 'node:url';
import {
  derBitString,
  derBoolean,
  derExplicit,
  derImplicitPrimitive,
  derInteger,
  derNamedBits,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
} from './der.js';

export interface TlsMaterial {
  /** PEM; for configured files, exactly the file's text (it may carry intermediates). */
  readonly cert: string;
  /** PEM, unencrypted. */
  readonly key: string;
  /** SHA-256 of the (first) certificate's DER, as colon-separated hex ("AB:CD:…"). */
  readonly fingerprint256: string;
  readonly source: 'configured' | 'generated' | 'reused';
}

/** A certificate or key file that cannot be used: `file` says which, `reason` why. */
export class TlsMaterialError extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
    hint?: string,
  ) {
    super(`TLS file ${file} ${reason}${hint ? ` (${hint})` : ''}`);
    this.name = 'TlsMaterialError';
  }
}

export const SELF_SIGNED_COMMON_NAME = 'Sluice gateway (self-signed)';

const OID = {
  commonName: '2.5.4.3',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

/** Loads <dataDir>/tls/cert.pem + key.pem, or generates a self-signed pair there (dir 0700, key 0600) on first start. */
export async function loadOrCreateSelfSigned(dataDir: string, hostnames: readonly string[] = []): Promise<TlsMaterial> {
  const dir = join(dataDir, 'tls');
  const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
  const [certExists, keyExists] = await Promise.all([pathExists(files.cert), pathExists(files.key)]);
  if (certExists || keyExists) return reuse(files, certExists, keyExists);

  // Built (and the hostnames validated) before touching the disk: a bad name leaves nothing behind.
  const generated = createSelfSignedCertificate({ hostnames });
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Write both files into a fresh directory and rename it into place: a crash never leaves half
  // a pair, and of two gateways starting at once on one data_dir only one pair wins.
  const staging = await mkdtemp(join(dataDir, '.tls-'));
  try {
    await chmod(staging, 0o700);
    await writeFile(join(staging, 'key.pem'), generated.key, { mode: 0o600, flag: 'wx' });
    await chmod(join(staging, 'key.pem'), 0o600);
    await writeFile(join(staging, 'cert.pem'), generated.cert, { mode: 0o644, flag: 'wx' });
    try {
      await rename(staging, dir); // replaces `dir` only when it is missing or empty
    } catch (error) {
      if (!isErrno(error, 'ENOTEMPTY', 'EEXIST')) throw new TlsMaterialError(dir, `cannot be created: ${(error as Error).message}`, 'data_dir/tls must be a directory Sluice can write');
      const [certNow, keyNow] = await Promise.all([pathExists(files.cert), pathExists(files.key)]);
      if (certNow || keyNow) return reuse(files, certNow, keyNow); // another process won the race
      // `tls/` holds something else of the operator's: add our two files next to it.
      await writeFile(files.key, generated.key, { mode: 0o600, flag: 'wx' });
      await chmod(files.key, 0o600);
      await writeFile(files.cert, generated.cert, { mode: 0o644, flag: 'wx' });
    }
    await chmod(dir, 0o700);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return { cert: generated.cert, key: generated.key, fingerprint256: generated.fingerprint256, source: 'generated' };
}

/** Reads configured files; errors say which file and why (missing, unreadable, not PEM, key does not match cert). */
export async function loadConfiguredTls(files: { cert: string; key: string }): Promise<TlsMaterial> {
  return { ...(await loadPair(files)), source: 'configured' };
}

async function reuse(files: { cert: string; key: string }, certExists: boolean, keyExists: boolean): Promise<TlsMaterial> {
  if (!certExists) throw new TlsMaterialError(files.cert, `is missing but ${files.key} exists`, 'restore it from a backup, or delete both files so Sluice generates a new pair');
  if (!keyExists) throw new TlsMaterialError(files.key, `is missing but ${files.cert} exists`, 'restore it from a backup, or delete both files so Sluice generates a new pair');
  // Never regenerate over a damaged pair: clients may have pinned its fingerprint.
  const hint = 'Sluice generated this pair earlier and does not replace it, since clients may pin its fingerprint: restore it, or delete both files to generate a new one';
  return { ...(await loadPair(files, hint)), source: 'reused' };
}

async function loadPair(files: { cert: string; key: string }, hint?: string): Promise<Omit<TlsMaterial, 'source'>> {
  const [certText, keyText] = await Promise.all([readTextFile(files.cert, hint), readTextFile(files.key, hint)]);
  const certificate = parseCertificate(files.cert, certText, hint);
  const key = parsePrivateKey(files.key, keyText, hint);
  if (!certificate.checkPrivateKey(key)) {
    throw new TlsMaterialError(files.key, `does not match the certificate in ${files.cert} (it is the private key of another key pair)`, hint);
  }
  return { cert: certText, key: keyText, fingerprint256: certificate.fingerprint256 };
}

async function readTextFile(file: string, hint: string | undefined): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'is missing'
      : code === 'EACCES' || code === 'EPERM' ? 'cannot be read: permission denied'
      : code === 'EISDIR' ? 'is a directory, not a file'
      : `cannot be read: ${(error as Error).message}`;
    throw new TlsMaterialError(file, reason, hint);
  }
}

function parseCertificate(file: string, text: string, hint: string | undefined): X509Certificate {
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    const swapped = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text) ? ': it holds a private key, are cert and key swapped?' : '';
    throw new TlsMaterialError(file, `is not a PEM certificate (no "-----BEGIN CERTIFICATE-----" block${swapped})`, hint);
  }
  try {
    return new X509Certificate(text);
  } catch (error) {
    throw new TlsMaterialError(file, `holds a CERTIFICATE block that does not parse: ${(error as Error).message}`, hint);
  }
}

function parsePrivateKey(file: string, text: string, hint: string | undefined): KeyObject {
  if (text.includes('-----BEGIN ENCRYPTED PRIVATE KEY-----') || text.includes('Proc-Type: 4,ENCRYPTED')) {
    throw new TlsMaterialError(file, 'is encrypted with a passphrase; Sluice needs an unencrypted key (protect the file with mode 0600 instead)', hint);
  }
  if (!/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(text)) {
    const swapped = text.includes('-----BEGIN CERTIFICATE-----') ? ': it holds a certificate, are cert and key swapped?' : '';
    throw new TlsMaterialError(file, `is not a PEM private key (no "-----BEGIN PRIVATE KEY-----" block${swapped})`, hint);
  }
  try {
    return createPrivateKey({ key: text, format: 'pem' });
  } catch (error) {
    throw new TlsMaterialError(file, `holds a PRIVATE KEY block that does not parse: ${(error as Error).message}`, hint);
  }
}

/**
 * Builds a self-signed ECDSA P-256 certificate for a TLS server. `now` and `notAfter` exist for
 * tests; by default it is valid from an hour ago (clock skew) for ten years.
 */
export function createSelfSignedCertificate(options: { hostnames?: readonly string[]; now?: Date; notAfter?: Date } = {}): {
  cert: string;
  key: string;
  fingerprint256: string;
} {
  const altNames = subjectAltNames(options.hostnames ?? []);
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const now = options.now ?? new Date();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000 - 3_600_000);
  const notAfter = options.notAfter ?? tenYearsFrom(now);

  // RFC 5280 4.1.2.2: positive, at most 20 octets, unpredictable. Setting bit 6 and clearing
  // bit 7 of the first byte keeps it positive and exactly 16 octets.
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;

  const name = derSequence(derSet(derSequence(derOid(OID.commonName), derUtf8String(SELF_SIGNED_COMMON_NAME))));
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const signatureAlgorithm = derSequence(derOid(OID.ecdsaWithSha256)); // parameters absent (RFC 5758)
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);

  const extensions = derSequence(
    extension(OID.basicConstraints, true, derSequence()), // cA FALSE is the DEFAULT, so omitted
    extension(OID.keyUsage, true, derNamedBits([0])), // digitalSignature
    extension(OID.extKeyUsage, false, derSequence(derOid(OID.serverAuth))),
    extension(OID.subjectAltName, false, derSequence(...altNames)),
    extension(OID.subjectKeyIdentifier, false, derOctetString(createHash('sha1').update(point).digest())),
  );
  const tbs = derSequence(
    derExplicit(0, derInteger(2)), // v3
    derInteger(serial),
    signatureAlgorithm,
    name,
    derSequence(derTime(notBefore), derTime(notAfter)),
    name,
    spki,
    derExplicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value, as X.509 wants
  const der = derSequence(tbs, signatureAlgorithm, derBitString(signature));
  const cert = toPem('CERTIFICATE', der);
  return { cert, key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), fingerprint256: new X509Certificate(der).fingerprint256 };
}

function extension(oid: string, critical: boolean, value: Uint8Array): Buffer {
  // DER omits a BOOLEAN equal to its DEFAULT (critical FALSE).
  return critical ? derSequence(derOid(oid), derBoolean(true), derOctetString(value)) : derSequence(derOid(oid), derOctetString(value));
}

/** GeneralNames: DNS localhost + IP 127.0.0.1 and ::1 always; IP literals among `hostnames` as IPs. */
function subjectAltNames(hostnames: readonly string[]): Buffer[] {
  const dns = new Set<string>(['localhost']);
  const ips = new Set<string>(['127.0.0.1', '::1']);
  for (const raw of hostnames) {
    const host = raw.trim().replace(/^\[(.*)\]$/, '$1');
    if (isIP(host)) {
      ips.add(host);
      continue;
    }
    const ascii = domainToASCII(host.replace(/\.$/, '')).toLowerCase();
    // [2] IMPLICIT IA5String: the check keeps it ASCII, so its bytes are the content octets.
    if (!ascii || !/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(ascii) || ascii.split('.').some((label) => label.length > 63)) {
      throw new RangeError(`"${raw}" is not a hostname or IP address that a TLS certificate can name`);
    }
    dns.add(ascii);
  }
  return [...[...dns].map((name) => derImplicitPrimitive(2, Buffer.from(name, 'ascii'))), ...[...ips].map((ip) => derImplicitPrimitive(7, ipBytes(ip)))];
}

function ipBytes(address: string): Buffer {
  if (isIP(address) === 4) return Buffer.from(address.split('.').map(Number));
  let text = address.split('%')[0] ?? '';
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const before = groups(head);
  const after = tail === undefined ? [] : groups(tail);
  const all = [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
  const bytes = Buffer.alloc(16);
  all.forEach((group, index) => bytes.writeUInt16BE(group, index * 2));
  return bytes;
}

function tenYearsFrom(now: Date): Date {
  const end = new Date(Math.floor(now.getTime() / 1000) * 1000);
  end.setUTCFullYear(end.getUTCFullYear() + 10);
  return end;
}

function toPem(label: string, der: Uint8Array): string {
  const lines = Buffer.from(der).toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    // Anything else (EACCES, ...) counts as present, so reading it reports the file and why.
    return !isErrno(error, 'ENOENT', 'ENOTDIR');
  }
}

function isErrno(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? '');
}
