import { createHash, randomBytes } from 'node:crypto';
import type { Identity } from './identity.js';

// Session credentials `sluice run` hands its command (PGPASSWORD, DATABASE_URL, SLUICE_<NAME>_URL):
// random, known only to this engine's memory, standing for the caller who started the run, and
// gone when the run finishes or expires. The command never holds an upstream secret, nor the
// caller's own long-lived token.

/** Every run credential starts with this, so the authenticator knows where to look. */
export const RUN_CREDENTIAL_PREFIX = 'sluice_run_';

interface Grant {
  readonly identity: Identity;
  readonly expiresAt: number;
}

export class RunCredentials {
  /** sha256 of the credential → who it stands for: the credential itself is never kept. */
  readonly #grants = new Map<string, Grant>();
  readonly #byRun = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  /** A new credential for `run`, acting as `identity` until `expiresAt` (epoch ms) or revoke(). */
  issue(identity: Identity, run: string, expiresAt: number): string {
    const credential = `${RUN_CREDENTIAL_PREFIX}${randomBytes(32).toString('base64url')}`;
    const key = digest(credential);
    this.#grants.set(key, { identity: { ...identity, run, expiresAt }, expiresAt });
    this.#byRun.set(run, key);
    return credential;
  }

  /** Who a run credential stands for; undefined when unknown, revoked or expired. */
  verify(credential: string): Identity | undefined {
    const key = digest(credential);
    const grant = this.#grants.get(key);
    if (!grant) return undefined;
    if (grant.expiresAt <= this.now()) {
      this.#grants.delete(key);
      return undefined;
    }
    return grant.identity;
  }

  /** The run ended: its credential stops working at once (sessions already open go on to their end). */
  revoke(run: string): void {
    const key = this.#byRun.get(run);
    if (key === undefined) return;
    this.#grants.delete(key);
    this.#byRun.delete(run);
  }

  get size(): number {
    return this.#grants.size;
  }
}

export function isRunCredential(credential: string): boolean {
  return credential.startsWith(RUN_CREDENTIAL_PREFIX);
}

function digest(credential: string): string {
  return createHash('sha256').update(credential, 'utf8').digest('hex');
}
