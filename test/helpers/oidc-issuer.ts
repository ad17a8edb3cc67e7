import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

// A real OIDC issuer on 127.0.0.1 for tests: discovery document, JWKS, and GitHub-Actions-shaped
// tokens signed with its keys. Everything goes over real HTTP, so the verifier's fetching,
// caching and rotation are exercised as in production.

export const TEST_AUDIENCE = 'sluice';

export interface IssueOptions {
  /**
   * Header kid; defaults to the active key's. One of this issuer's kids signs with that key (an
   * older one after rotate()); any other kid is only written into the header, signed by the active key.
   */
  readonly kid?: string;
  readonly alg?: string;
  /** Seconds from now until `exp` (negative: already expired). Default 300. */
  readonly expiresIn?: number;
  /** Seconds from now for `nbf` (positive: not valid yet). Default 0. */
  readonly notBefore?: number;
  /** Extra or overriding protected-header fields. */
  readonly header?: Readonly<Record<string, unknown>>;
}

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly publicJwk: JWK;
}

/** Claim overrides: `undefined` removes the claim. */
export type ClaimOverrides = Readonly<Record<string, unknown>>;

export class TestOidcIssuer {
  /** GET /jwks requests served. */
  jwksFetches = 0;
  /** GET /.well-known/openid-configuration requests served. */
  discoveryFetches = 0;
  /** When set, the discovery document names this issuer instead of the real one. */
  discoveryIssuer: string | undefined;
  /** When set, GET /jwks answers with this HTTP status instead of the keys. */
  jwksStatus: number | undefined;

  readonly #keys: SigningKey[] = [];
  readonly #server: Server;
  #port = 0;
  #running = false;

  private constructor() {
    this.#server = createServer((request, response) => this.#handle(request, response));
  }

  static async start(): Promise<TestOidcIssuer> {
    const issuer = new TestOidcIssuer();
    await issuer.#addKey();
    await issuer.restart();
    return issuer;
  }

  /** The issuer URL (`iss`), e.g. http://127.0.0.1:43121. */
  get url(): string {
    return `http://127.0.0.1:${this.#port}`;
  }

  get activeKid(): string {
    return this.#active().kid;
  }

  /** The published key set (every key, newest last). */
  get jwks(): { keys: JWK[] } {
    return { keys: this.#keys.map((key) => ({ ...key.publicJwk })) };
  }

  /** The active public key as SPKI PEM: what an attacker would use as an HMAC secret. */
  async publicKeyPem(): Promise<string> {
    return exportSPKI(this.#active().publicKey);
  }

  get publicJwk(): JWK {
    return { ...this.#active().publicJwk };
  }

  /** The claims a GitHub Actions job token carries, with overrides applied. */
  claims(overrides: ClaimOverrides = {}, options: IssueOptions = {}): JWTPayload {
    const now = Math.floor(Date.now() / 1_000);
    const base: Record<string, unknown> = {
      jti: randomUUID(),
      sub: 'repo:acme/api:ref:refs/heads/main',
      aud: TEST_AUDIENCE,
      iss: this.url,
      ref: 'refs/heads/main',
      sha: 'd6c2a8e1f5b04c3a9e7d1f0b2c4e6a8d0f1b3c5e',
      repository: 'acme/api',
      repository_owner: 'acme',
      repository_owner_id: '4242',
      repository_id: '1296269',
      repository_visibility: 'private',
      run_id: '7012345678',
      run_number: '318',
      run_attempt: '1',
      actor: 'octocat',
      actor_id: '583231',
      workflow: 'deploy',
      workflow_ref: 'acme/api/.github/workflows/deploy.yml@refs/heads/main',
      workflow_sha: 'd6c2a8e1f5b04c3a9e7d1f0b2c4e6a8d0f1b3c5e',
      job_workflow_ref: 'acme/api/.github/workflows/deploy.yml@refs/heads/main',
      job_workflow_sha: 'd6c2a8e1f5b04c3a9e7d1f0b2c4e6a8d0f1b3c5e',
      head_ref: '',
      base_ref: '',
      event_name: 'push',
      ref_type: 'branch',
      ref_protected: 'true',
      environment: 'production',
      runner_environment: 'github-hosted',
      iat: now,
      nbf: now + (options.notBefore ?? 0),
      exp: now + (options.expiresIn ?? 300),
    };
    for (const [name, value] of Object.entries(overrides)) {
      if (value === undefined) delete base[name];
      else base[name] = value;
    }
    return base;
  }

  /** A signed token; see IssueOptions for expiry, kid and header tricks. */
  async issue(overrides: ClaimOverrides = {}, options: IssueOptions = {}): Promise<string> {
    const key = this.#keys.find((candidate) => candidate.kid === options.kid) ?? this.#active();
    return new SignJWT(this.claims(overrides, options))
      .setProtectedHeader({ typ: 'JWT', alg: options.alg ?? 'RS256', kid: options.kid ?? key.kid, ...options.header })
      .sign(key.privateKey);
  }

  /** Adds a new signing key, publishes it next to the old ones, and signs with it from now on. */
  async rotate(): Promise<string> {
    return (await this.#addKey()).kid;
  }

  /** Stops answering (connection refused) until restart(); the port is kept. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    const closed = new Promise<void>((resolve, reject) => this.#server.close((error) => (error ? reject(error) : resolve())));
    this.#server.closeAllConnections();
    await closed;
  }

  /** Starts (again) on the same port. */
  async restart(): Promise<void> {
    if (this.#running) return;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as AddressInfo).port;
    this.#running = true;
  }

  async close(): Promise<void> {
    await this.stop();
  }

  #active(): SigningKey {
    const key = this.#keys.at(-1);
    if (!key) throw new Error('the test issuer has no keys');
    return key;
  }

  async #addKey(): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    // Random kids per issuer, so two test issuers never share one by accident.
    const kid = `k-${randomBytes(6).toString('hex')}`;
    const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
    const key = { kid, privateKey, publicKey, publicJwk };
    this.#keys.push(key);
    return key;
  }

  #handle(request: IncomingMessage, response: ServerResponse): void {
    const send = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET') return send(405, { error: 'method not allowed' });
    switch (request.url) {
      case '/.well-known/openid-configuration':
        this.discoveryFetches += 1;
        return send(200, {
          issuer: this.discoveryIssuer ?? this.url,
          jwks_uri: `${this.url}/jwks`,
          subject_types_supported: ['public', 'pairwise'],
          response_types_supported: ['id_token'],
          claims_supported: ['sub', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'ref', 'repository', 'environment'],
          id_token_signing_alg_values_supported: ['RS256'],
          scopes_supported: ['openid'],
        });
      case '/jwks':
        this.jwksFetches += 1;
        return this.jwksStatus === undefined ? send(200, this.jwks) : send(this.jwksStatus, { error: 'unavailable' });
      default:
        return send(404, { error: 'not found' });
    }
  }
}
