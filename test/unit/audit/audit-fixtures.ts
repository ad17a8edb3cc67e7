import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { SessionStart } from '../../../proxy/audit/audit-types.js';

/** A fresh directory per call, removed after the test; the store goes in `<dir>/data`. */
export function useTempDirs(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-audit-'));
    made.push(dir);
    return dir;
  };
}

export function sessionStart(overrides: Partial<SessionStart> = {}): SessionStart {
  return {
    resource: 'prod-db',
    protocol: 'postgres',
    identity: { subject: 'alice', issuer: 'sluice:token', method: 'token', groups: ['ci', 'dba'] },
    clientAddress: '127.0.0.1:50123',
    application: 'psql',
    ...overrides,
  };
}
