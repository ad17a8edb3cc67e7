import { request as httpsRequest } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { sampleCustomers } from '../../../scripts/demo-data.js';
import { freePort } from '../../../tools/embedded-postgres.js';
import { eventually } from '../../helpers/eventually.js';
import { findProgram } from '../../helpers/external-program.js';
import { runCli } from '../../helpers/run-cli.js';

const root = resolve(import.meta.dirname, '../../..');
const psql = findProgram('psql');

/** Runs `npm run demo`'s script until it prints its ready lines; resolves with them and a stop(). */
async function startDemo(env: NodeJS.ProcessEnv): Promise<{ stdout: string; stop: () => Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('Press Ctrl-C to stop.')) resolve();
    });
    void exited.then((code) => reject(new Error(`demo exited with ${code}\n${stdout}\n${stderr}`)));
  });
  return {
    stdout,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('npm run demo', () => {
  it('starts PostgreSQL with a sample shop and the gateway in front, with lines that work as printed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-demo-'));
    const env = { ...process.env, SLUICE_DEMO_DIR: dir, SLUICE_DEMO_PG_PORT: String(await freePort()), SLUICE_DEMO_GATEWAY_PORT: String(await freePort()), SLUICE_DEMO_API_PORT: String(await freePort()) };

    const demo = await startDemo(env);
    try {
      expect(demo.stdout).toMatch(/PostgreSQL is up: PostgreSQL 18\./);
      expect(demo.stdout).toContain('sample shop: 1000 customers');
      expect(demo.stdout).toContain('authenticates as "demo" with groups [ci]');
      const token = /^CI token: +(slu_\S+)$/m.exec(demo.stdout)?.[1];
      const approver = /^Approver token: +(slu_\S+)/m.exec(demo.stdout)?.[1];
      expect(approver).toBeDefined();
      // The printed console URL serves the web console, and the approver token signs in to it.
      const consoleUrl = /^Web console: +(http\S+)/m.exec(demo.stdout)?.[1];
      expect(consoleUrl).toBeDefined();
      const page = await selfSignedRequest(consoleUrl!);
      expect(page.status, 'the console is built by `npm install` (prepare) or `npm run build:console`').toBe(200);
      expect(page.body).toContain('<div id="root">');
      // The certificate the browser will be shown is the one whose fingerprint the demo printed.
      expect(demo.stdout).toContain(`fingerprint is ${page.fingerprint256}`);
      const whoami = await selfSignedRequest(new URL('/api/v1/identity.whoami', consoleUrl).href, { method: 'POST', headers: { authorization: `Bearer ${approver!}` }, body: '{}' });
      expect((JSON.parse(whoami.body) as { value: { roles: string[] } }).value.roles).toEqual(expect.arrayContaining(['approvers', 'admins']));
      const databaseUrl = /DATABASE_URL=(\S+)/.exec(demo.stdout)?.[1];
      expect(token).toBeDefined();

      // The printed DATABASE_URL works for a driver, through TLS, with the token as the password.
      const client = new pg.Client({ connectionString: databaseUrl!.replace('sslmode=require', 'sslmode=no-verify') });
      await client.connect();
      const { rows } = await client.query('SELECT count(*)::int AS n FROM customers WHERE card_number IS NOT NULL');
      expect(rows[0].n).toBe(1000);
      await client.end();

      // And the printed psql line, pasted into a shell.
      if (psql) {
        const line = /^ {2}(PGPASSWORD=.*psql .*)$/m.exec(demo.stdout)?.[1];
        const { stdout } = await promisify(execFile)('sh', ['-c', line!], { env: { ...process.env, PATH: `${join(psql, '..')}:${process.env.PATH}` } });
        expect(stdout).toMatch(/full_name\s+\|\s+contact\s+\|\s+card_number\s+\|\s+ssn\s+\|\s+notes/);
        expect(stdout).toContain('(5 rows)');
        // Masked: no email, card or SSN of those customers comes through as stored.
        for (const customer of sampleCustomers(5)) for (const value of [customer.email, customer.card, customer.ssn]) expect(stdout).not.toContain(value);
        expect(stdout).toMatch(/\*+@/);

        // The printed write waits for approval; the printed approver lines approve it.
        const configFile = join(dir, 'sluice.yaml');
        const approverToken = /^Approver token: +(slu_\S+)/m.exec(demo.stdout)![1]!;
        const update = /^ {2}(PGPASSWORD=.*psql .*UPDATE.*)$/m.exec(demo.stdout)![1]!;
        const write = spawn('sh', ['-c', update], { env: { ...process.env, PATH: `${join(psql, '..')}:${process.env.PATH}` } });
        let writeOut = '';
        write.stdout.on('data', (chunk: Buffer) => (writeOut += chunk.toString()));
        write.stderr.on('data', (chunk: Buffer) => (writeOut += chunk.toString()));
        const writeDone = new Promise<number | null>((resolve) => write.on('close', resolve));
        const id = await eventually(async () => /waiting for approval (\S+)/.exec(writeOut)?.[1] ?? Promise.reject(new Error(`no notice yet: ${writeOut}`)), 15_000);
        const env = { SLUICE_TOKEN: approverToken };
        const listed = await runCli(['approvals', '--config', configFile], { env });
        expect(listed.stdout).toContain(id);
        const approved = await runCli(['approve', id, '--config', configFile], { env });
        expect(approved.stderr).toBe('');
        expect(approved.code).toBe(0);
        expect(await writeDone, writeOut).toBe(0);
        expect(writeOut).toContain('UPDATE 1');
      }
    } finally {
      expect(await demo.stop()).toBe(0);
    }

    // A second run reuses the cluster, the data, the password and the token.
    const second = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/demo.ts'], { cwd: root, env: { ...env, SLUICE_DEMO_EXIT_WHEN_READY: '1' }, timeout: 120_000 });
    expect(/^CI token: +(slu_\S+)$/m.exec(second.stdout)?.[1]).toBe(/^CI token: +(slu_\S+)$/m.exec(demo.stdout)?.[1]);
    expect(second.stdout).toContain('sample shop: 1000 customers');

    const configFile = join(dir, 'sluice.yaml');
    expect((await runCli(['check-config', configFile], { env: {} })).stdout).toContain('resources: 1 — demo-db (postgres)');
    const sessions = await runCli(['sessions', '--config', configFile], { env: {} });
    expect(sessions.code).toBe(0);
    expect(sessions.stdout).toContain('demo-db');
  }, 180_000);
});

/** An HTTPS request to the demo's self-signed api listener, with the certificate's fingerprint. */
function selfSignedRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string; fingerprint256: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, rejectUnauthorized: false }, (res) => {
      const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint256 }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
