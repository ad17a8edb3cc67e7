import type { RunGrant } from './run-service.js';

// The environment `sluice run` gives its command: the job's own, minus the caller's long-lived
// credential and any variable holding an upstream secret (an embedded gateway's), plus the session credential in the forms existing tools read: libpq's PG* variables
// and DATABASE_URL for the chosen PostgreSQL resource, SLUICE_<NAME>_URL per HTTP resource (the
// credential as the URL's password: clients send it as basic auth, which the gateway accepts).

/** Variables the command never inherits: the caller's own credential outlives the run. */
const WITHHELD = ['SLUICE_TOKEN'];
/** libpq's user name for gateway sessions: the gateway goes by the credential, not the name. */
const PG_USER = 'sluice';

export class ResourceChoiceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourceChoiceError';
  }
}

export interface ChildEnvOptions {
  /** --resource: the PostgreSQL resource for PG* and DATABASE_URL (default: the only one open to the caller). */
  readonly resource?: string;
  /** The host reaching listeners bound to a wildcard address (the gateway's). */
  readonly gatewayHost: string;
  /** Where the gateway's self-signed certificate was written, when it has one. */
  readonly certificateFile?: string;
  /** Upstream secrets an embedded gateway read from this environment: variables holding one are withheld. */
  readonly secrets?: readonly string[];
}

/** Shorter secrets occur in ordinary values by chance (the output masker's threshold too). */
const MIN_SECRET_LENGTH = 6;

/** Hosts the gateway's self-signed certificate names whatever its bind address (tls-material.ts). */
const CERTIFIED_HOSTS = new Set(['localhost', '127.0.0.1', '::1']);

export function childEnvironment(base: NodeJS.ProcessEnv, grant: RunGrant, options: ChildEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  const secrets = (options.secrets ?? []).filter((secret) => secret.length >= MIN_SECRET_LENGTH);
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined || WITHHELD.includes(name) || secrets.some((secret) => value.includes(secret))) continue;
    env[name] = value;
  }
  const database = chooseResource(grant, options.resource);
  if (database && grant.postgres) {
    const host = reachable(grant.postgres.host, options.gatewayHost);
    // Verified against the gateway's own certificate where it names the host; else encrypted only.
    const verify = options.certificateFile !== undefined && (CERTIFIED_HOSTS.has(host) || host === grant.postgres.host);
    const sslmode = !grant.postgres.tls ? 'disable' : verify ? 'verify-full' : 'require';
    const rootcert = verify ? `&sslrootcert=${encodeURIComponent(options.certificateFile!)}` : '';
    Object.assign(env, {
      PGHOST: host,
      PGPORT: String(grant.postgres.port),
      PGDATABASE: database,
      PGUSER: PG_USER,
      PGPASSWORD: grant.credential,
      PGSSLMODE: sslmode,
      DATABASE_URL: `postgres://${PG_USER}:${encodeURIComponent(grant.credential)}@${urlHost(host)}:${grant.postgres.port}/${encodeURIComponent(database)}?sslmode=${sslmode}${rootcert}`,
    });
    if (verify) env.PGSSLROOTCERT = options.certificateFile!;
  }
  for (const http of grant.http) {
    const host = reachable(http.host, options.gatewayHost);
    env[`SLUICE_${envName(http.name)}_URL`] = `${http.secure ? 'https' : 'http'}://${PG_USER}:${encodeURIComponent(grant.credential)}@${urlHost(host)}:${http.port}${http.path}`;
  }
  env.SLUICE_RUN = grant.run;
  return env;
}

/** The PostgreSQL resource the PG* variables name; undefined when there is none to give. */
function chooseResource(grant: RunGrant, wanted: string | undefined): string | undefined {
  const open = grant.postgres?.resources ?? [];
  if (wanted !== undefined) {
    if (!open.includes(wanted)) {
      throw new ResourceChoiceError(`--resource ${wanted} is not a PostgreSQL resource open to you here (${open.length > 0 ? `yours: ${open.join(', ')}` : 'none is'})`);
    }
    return wanted;
  }
  if (open.length <= 1) return open[0];
  throw new ResourceChoiceError(`several PostgreSQL resources are open to you (${open.join(', ')}): pass --resource NAME for PGDATABASE and DATABASE_URL`);
}

/** `orders-api` → `ORDERS_API`: what a shell variable name may hold. */
export function envName(resource: string): string {
  return resource.toUpperCase().replace(/[^A-Z0-9]+/g, '_').replace(/^_+|_+$/g, '');
}

function reachable(bound: string, gatewayHost: string): string {
  if (bound === '0.0.0.0' || bound === '::' || bound === '') return gatewayHost;
  return bound;
}

function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
