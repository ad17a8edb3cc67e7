import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

// SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL uses it, without channel binding: the
// gateway authenticating itself upstream with the password it holds.

const pbkdf2Async = promisify(pbkdf2);

export class ScramError extends Error {
  override readonly name = 'ScramError';
}

export interface ScramExchange {
  /** The SASLInitialResponse payload. */
  readonly clientFirst: string;
  /** Computes the SASLResponse payload from the server-first message. */
  respond(serverFirst: string): Promise<string>;
  /** Checks the server's signature: proves the server knew the password too. */
  verifyServerFinal(serverFinal: string): void;
}

// Deriving the salted password costs 4096 HMAC rounds; a gateway reconnecting the same
// resource reuses it. Keyed by a hash of password, salt and count, never the password itself.
const saltedCache = new Map<string, Buffer>();
const SALTED_CACHE_LIMIT = 64;

export function startScram(password: string): ScramExchange {
  const clientNonce = randomBytes(18).toString('base64');
  // PostgreSQL takes the user from the startup packet; the SCRAM user name is ignored.
  const clientFirstBare = `n=*,r=${clientNonce}`;
  let expectedServerSignature: Buffer | undefined;

  return {
    clientFirst: `n,,${clientFirstBare}`,

    async respond(serverFirst) {
      const attributes = parseAttributes(serverFirst);
      const nonce = attributes.get('r');
      const salt = attributes.get('s');
      const iterations = Number(attributes.get('i'));
      if (!nonce?.startsWith(clientNonce) || nonce.length === clientNonce.length) {
        throw new ScramError('the server-first message does not extend our nonce');
      }
      if (!salt || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > 10_000_000) {
        throw new ScramError('the server-first message has no usable salt or iteration count');
      }
      const salted = await saltedPassword(password, salt, iterations);
      const clientFinalWithoutProof = `c=biws,r=${nonce}`;
      const authMessage = `${clientFirstBare},${serverFirst},${clientFinalWithoutProof}`;
      const clientKey = hmac(salted, 'Client Key');
      const storedKey = createHash('sha256').update(clientKey).digest();
      const clientSignature = hmac(storedKey, authMessage);
      const proof = Buffer.alloc(clientKey.length);
      for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i]! ^ clientSignature[i]!;
      expectedServerSignature = hmac(hmac(salted, 'Server Key'), authMessage);
      return `${clientFinalWithoutProof},p=${proof.toString('base64')}`;
    },

    verifyServerFinal(serverFinal) {
      const signature = parseAttributes(serverFinal).get('v');
      const received = signature === undefined ? undefined : Buffer.from(signature, 'base64');
      if (!expectedServerSignature || !received || received.length !== expectedServerSignature.length || !timingSafeEqual(received, expectedServerSignature)) {
        throw new ScramError('the server signature does not match: the upstream does not know the password');
      }
    },
  };
}

async function saltedPassword(password: string, salt: string, iterations: number): Promise<Buffer> {
  const key = createHash('sha256').update(`${password}\0${salt}\0${iterations}`).digest('base64');
  const cached = saltedCache.get(key);
  if (cached) return cached;
  const salted = await pbkdf2Async(saslPrep(password), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
  if (saltedCache.size >= SALTED_CACHE_LIMIT) saltedCache.delete(saltedCache.keys().next().value!);
  saltedCache.set(key, salted);
  return salted;
}

// RFC 4013 mapping as PostgreSQL's pg_saslprep applies it: non-ASCII spaces become a space,
// characters "commonly mapped to nothing" are dropped, then NFKC. (PostgreSQL also falls back to
// the raw password when it holds prohibited characters; such passwords are not supported here.)
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g;
// An alternation, not a class: combining marks in a class read as one misleading character.
const MAPPED_TO_NOTHING = /\u00ad|\u034f|\u1806|[\u180b-\u180d]|[\u200b-\u200d]|\u2060|[\ufe00-\ufe0f]|\ufeff/g;

export function saslPrep(password: string): string {
  // eslint-disable-next-line no-control-regex -- the ASCII fast path, as in PostgreSQL
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  return password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function parseAttributes(message: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) attributes.set(part[0]!, part.slice(2));
  }
  return attributes;
}

/** PostgreSQL's md5 scheme: "md5" + md5(md5(password + user) + salt). */
export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return `md5${createHash('md5').update(inner).update(salt).digest('hex')}`;
}
