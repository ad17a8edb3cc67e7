import { readFile } from 'node:fs/promises';
import { isLoopbackHost } from '../common/urls.js';
import type { ResourceConfig } from '../config/schema.js';
import type { UpstreamTarget } from '../postgres/upstream-connect.js';

type PostgresResource = Extract<ResourceConfig, { type: 'postgres' }>;

/**
 * Where each PostgreSQL resource's upstream is and how to log in. Without `sslmode`, a loopback
 * upstream is reached in plaintext and any other host requires TLS: the gateway's password must
 * not cross a network in the clear.
 */
export async function upstreamTargets(resources: readonly ResourceConfig[]): Promise<Map<string, UpstreamTarget>> {
  const targets = new Map<string, UpstreamTarget>();
  for (const resource of resources) {
    if (resource.type !== 'postgres') continue;
    targets.set(resource.name, await upstreamTarget(resource));
  }
  return targets;
}

async function upstreamTarget(resource: PostgresResource): Promise<UpstreamTarget> {
  const url = new URL(resource.upstream);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let ca: string | undefined;
  if (resource.ca) {
    try {
      ca = await readFile(resource.ca, 'utf8');
    } catch (error) {
      throw new Error(`resources "${resource.name}": cannot read its ca file ${resource.ca} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, { cause: error });
    }
  }
  return {
    resource: resource.name,
    host,
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username),
    database: decodeURIComponent(url.pathname.slice(1)),
    password: resource.password,
    sslmode: resource.sslmode ?? (isLoopbackHost(host) ? 'disable' : 'require'),
    ...(ca ? { ca } : {}),
  };
}
