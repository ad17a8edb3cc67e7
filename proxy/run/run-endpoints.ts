import type { HttpGateway } from '../http/http-gateway.js';
import type { Identity } from '../identity/identity.js';
import type { PostgresListener } from '../postgres/postgres-listener.js';
import type { RunEndpoints } from './run-service.js';

// Where a run's command reaches this gateway: the PostgreSQL listener and the HTTP listeners, with
// only the resources policy opens to the caller (the same list their listeners would show).

export interface EndpointSources {
  readonly postgres: PostgresListener | undefined;
  readonly postgresTls: boolean;
  /** The listener's self-signed certificate (PEM), which clients verify it by; undefined for a configured one (its CA verifies it). */
  readonly postgresCertificate: string | undefined;
  readonly http: HttpGateway | undefined;
  /** The configured resources by type. */
  readonly postgresResources: readonly string[];
  readonly httpResources: readonly string[];
  /** Resources policy opens to this caller (any type). */
  readonly resources: (identity: Identity) => readonly string[];
}

export function runEndpoints(identity: Identity, sources: EndpointSources): RunEndpoints {
  const open = new Set(sources.resources(identity));
  const httpEndpoints: RunEndpoints['http'][number][] = [];
  const httpNames = new Set<string>();
  for (const listener of sources.http?.listeners ?? []) {
    // A resource's own listener serves it at its root; the shared one every resource at /r/NAME/.
    if (listener.resource !== undefined) {
      if (!open.has(listener.resource)) continue;
      httpEndpoints.push({ name: listener.resource, host: listener.host, port: listener.port, secure: listener.secure, path: '' });
      httpNames.add(listener.resource);
    }
  }
  const shared = sources.http?.listeners.find((listener) => listener.resource === undefined);
  if (shared) {
    for (const name of sources.httpResources) {
      if (!open.has(name) || httpNames.has(name)) continue;
      httpEndpoints.push({ name, host: shared.host, port: shared.port, secure: shared.secure, path: `/r/${encodeURIComponent(name)}` });
    }
  }
  const postgres = sources.postgres;
  const pgResources = sources.postgresResources.filter((name) => open.has(name));
  return {
    ...(postgres && {
      postgres: { host: postgres.host, port: postgres.port, tls: sources.postgresTls, ...(sources.postgresCertificate !== undefined && { certificate: sources.postgresCertificate }), resources: pgResources },
    }),
    http: httpEndpoints,
  };
}
