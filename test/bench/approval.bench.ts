// Time from a statement the gateway holds to the approval.requested event an approver's screen
// gets: the client's Query crossing the gateway, classification, policy, the broker, the bus.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { parseConfig } from '../../proxy/config/load-config.js';
import { startEngine } from '../../proxy/engine/engine.js';
import { silentLogger } from '../../proxy/engine/logger.js';
import type { Identity } from '../../proxy/identity/identity.js';
import { createStaticToken, hashToken } from '../../proxy/identity/static-tokens.js';
import type { PgbenchTarget } from './pgbench.bench.js';

const ROUNDS = 300;

export async function approvalLatencyReport(upstream: PgbenchTarget): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bench-approval-'));
  await chmod(dir, 0o700);
  const { token } = createStaticToken();
  await writeFile(join(dir, 'pw'), upstream.password, { mode: 0o600 });
  const yaml = [
    `data_dir: ${join(dir, 'data')}`,
    'listen: { postgres: { address: "127.0.0.1:0", tls: off } }',
    `identity: { tokens: [{ name: bench, sha256: "${hashToken(token)}", groups: [bench] }] }`,
    'resources:',
    `  - { name: bench, type: postgres, upstream: "postgres://${upstream.user}@${upstream.host}:${upstream.port}/${upstream.database}", password: "\${file:${join(dir, 'pw')}}", sslmode: disable }`,
    'policy:',
    '  - { name: read, match: { groups: [bench], kinds: [select] }, effect: allow }',
    '  - { name: writes, match: { groups: [bench], kinds: [update] }, effect: approve }',
    '',
  ].join('\n');
  const { config } = parseConfig(yaml, { file: join(dir, 'sluice.yaml'), env: {} });
  const engine = await startEngine(config, { log: silentLogger });
  const client = new pg.Client({ host: '127.0.0.1', port: engine.postgres!.port, user: 'bench', password: token, database: 'bench' });
  const approver: Identity = { subject: 'approver', issuer: 'sluice:token', groups: ['approvers'], claims: {}, method: 'token' };
  try {
    await client.connect();
    const samples: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const requested = new Promise<string>((resolve) => {
        const off = engine.events.on('approval.requested', (approval) => (off(), resolve(approval.id)));
      });
      const started = performance.now();
      const update = client.query(`UPDATE pgbench_branches SET bbalance = bbalance WHERE bid = ${(round % 10) + 1}`).catch(() => undefined);
      const id = await requested;
      samples.push(performance.now() - started);
      engine.approvals.decide(id, approver, { decision: 'deny', reason: 'bench' });
      await update;
    }
    samples.sort((a, b) => a - b);
    const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!.toFixed(2);
    return `held statement -> approval.requested event (${ROUNDS} rounds, in process): p50 ${at(0.5)} ms, p99 ${at(0.99)} ms`;
  } finally {
    await client.end().catch(() => {});
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  }
}
