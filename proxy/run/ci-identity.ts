import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { printable } from '../common/printable.js';

// Who `sluice run` acts as. A credential handed over explicitly wins (--token-file, then
// SLUICE_TOKEN: a static token, or an OIDC JWT such as GitLab's `id_tokens`); on GitHub Actions
// the job's own OIDC id token is fetched (the workflow needs `permissions: id-token: write`).
// Without any, the run is refused: a command never runs unattributed.

export type CredentialSource = '--token-file' | 'SLUICE_TOKEN' | 'github-actions-oidc';

export interface CallerCredential {
  readonly credential: string;
  readonly source: CredentialSource;
}

export class IdentityUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IdentityUnavailable';
  }
}

export interface IdentityOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly tokenFile?: string;
  /** The `aud` to ask GitHub for (the gateway's identity.oidc audience). */
  readonly audience: string;
  readonly fetch?: typeof fetch;
}

const GITHUB_TIMEOUT_MS = 15_000;

export async function callerCredential(options: IdentityOptions): Promise<CallerCredential> {
  if (options.tokenFile !== undefined) {
    let text: string;
    try {
      text = (await readFile(resolve(options.cwd, options.tokenFile), 'utf8')).trim();
    } catch (error) {
      throw new IdentityUnavailable(`--token-file ${options.tokenFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (!text) throw new IdentityUnavailable(`--token-file ${options.tokenFile} is empty`);
    return { credential: text, source: '--token-file' };
  }
  const token = options.env.SLUICE_TOKEN?.trim();
  if (token) return { credential: token, source: 'SLUICE_TOKEN' };
  const url = options.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const bearer = options.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (url && bearer) return { credential: await githubIdToken(url, bearer, options.audience, options.fetch ?? fetch), source: 'github-actions-oidc' };
  if (url || options.env.GITHUB_ACTIONS === 'true') {
    throw new IdentityUnavailable(
      'this GitHub Actions job cannot request an OIDC id token (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN are not set): give the workflow or job `permissions: id-token: write`',
    );
  }
  throw new IdentityUnavailable('no identity to run as: set SLUICE_TOKEN (a token or an OIDC JWT, e.g. GitLab id_tokens), pass --token-file FILE, or run in a GitHub Actions job with `permissions: id-token: write`');
}

/** The job's id token from GitHub's token service, for `audience`. */
async function githubIdToken(requestUrl: string, bearer: string, audience: string, fetchFn: typeof fetch): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    throw new IdentityUnavailable('ACTIONS_ID_TOKEN_REQUEST_URL is not a URL');
  }
  url.searchParams.set('audience', audience);
  let response: Response;
  try {
    response = await fetchFn(url, { headers: { authorization: `bearer ${bearer}`, accept: 'application/json; api-version=2.0' }, signal: AbortSignal.timeout(GITHUB_TIMEOUT_MS) });
  } catch (error) {
    throw new IdentityUnavailable(`cannot reach GitHub's id token service at ${url.origin} (${printable((error as Error).message)})`);
  }
  if (!response.ok) {
    // The body may echo the request; only the status is reported.
    throw new IdentityUnavailable(`GitHub's id token service answered ${response.status} ${printable(response.statusText)}: check the job's \`permissions: id-token: write\``);
  }
  const body = (await response.json().catch(() => undefined)) as { value?: unknown } | undefined;
  if (typeof body?.value !== 'string' || body.value.split('.').length !== 3) throw new IdentityUnavailable("GitHub's id token service answered without an id token");
  return body.value;
}
