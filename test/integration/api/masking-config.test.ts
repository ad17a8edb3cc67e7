import { execFile } from 'node:child_process';
import { chmod, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiResult, MaskingRulesView, MaskingSaveResult } from '../../../proxy/api/api-contract.js';
import { readMaskingSection, replaceMaskingSection } from '../../../proxy/config/masking-section.js';
import { findProgram } from '../../helpers/external-program.js';
import { startTestGateway, type TestGateway } from '../../helpers/gateway.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/postgres.js';

// The masking rule editor's back end through a real gateway and its real HTTP API: what an admin
// saves is validated like the whole file, written atomically with a backup, in force for the
// next session without a restart, and recorded in the audit store.

const psql = findProgram('psql');
const run = promisify(execFile);

const SCHEMA = `
  CREATE TABLE customers (id int PRIMARY KEY, name text, email text, ssn text, note text);
  INSERT INTO customers VALUES
    (1, 'Ada Lovelace', 'ada@example.com', '123-45-6789', 'call ada.l@example.org about 4111 1111 1111 1111'),
    (2, 'Alan Turing', 'alan@example.org', '234-56-7890', 'nothing to see');
`;
const OPERATOR_NOTE = '# Operator note: do not remove the other-db resource (used by the nightly job).\n';

let db: TestDatabase;
let gateway: TestGateway;
let api: string;

beforeAll(async () => {
  db = await createTestDatabase(import.meta.url);
  const direct = await db.connect();
  await direct.query(SCHEMA);
  await direct.end();
  gateway = await startTestGateway(db, {
    tls: 'off',
    api: true,
    masking: ['{ name: emails, columns: [public.customers.email], strategy: redact }'],
  });
  api = gateway.engine.api!.url;
  // An operator's comments: a save must keep them where they are.
  const original = await readFile(gateway.configFile, 'utf8');
  await writeFile(gateway.configFile, OPERATOR_NOTE + original.replace('resources:\n', 'resources:  # upstreams the gateway holds credentials for\n'));
});

afterAll(async () => {
  await gateway?.close();
  await db?.drop();
});

async function call<T>(method: string, input: unknown, token: string): Promise<{ status: number; body: ApiResult<T> }> {
  const response = await fetch(`${api}/api/v1/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as ApiResult<T> };
}

async function emailsSeenByNewSession(): Promise<string[]> {
  const client = await gateway.connect();
  try {
    return (await client.query<{ email: string }>('SELECT email FROM customers ORDER BY id')).rows.map((row) => row.email);
  } finally {
    await client.end();
  }
}

async function leftovers(): Promise<string[]> {
  const name = basename(gateway.configFile);
  return (await readdir(dirname(gateway.configFile))).filter((entry) => entry !== name && entry.includes(name));
}

describe('masking.rules and masking.save over the HTTP API', () => {
  it('reads the rules back as the config file holds them, with the detectors and strategies to offer', async () => {
    const { status, body } = await call<MaskingRulesView>('masking.rules', {}, gateway.dbaToken);
    expect(status).toBe(200);
    if (!body.ok) throw new Error(body.error.message);
    expect(body.value.rules).toEqual([{ name: 'emails', columns: ['public.customers.email'], strategy: 'redact' }]);
    expect(body.value.yaml).toBe('masking:\n  - { name: emails, columns: [public.customers.email], strategy: redact }\n');
    expect(body.value.file).toBe(gateway.configFile);
    expect(body.value.detectors).toContain('email');
    expect(body.value.strategies).toEqual(['redact', 'partial', 'hash', 'null', 'fake']);
  });

  it('refuses callers without the admins role (403), for reading and for saving', async () => {
    const read = await call('masking.rules', {}, gateway.staff.alice);
    expect(read.status).toBe(403);
    const before = await readFile(gateway.configFile);
    const save = await call('masking.save', { rules: [] }, gateway.staff.alice);
    expect(save.status).toBe(403);
    expect(save.body.ok ? undefined : save.body.error.code).toBe('forbidden');
    expect(await readFile(gateway.configFile)).toEqual(before);
  });

  it('refuses an invalid rule naming the rule and the field, and leaves the file untouched', async () => {
    const before = await readFile(gateway.configFile);
    const cases: { rules: unknown[]; says: RegExp }[] = [
      { rules: [{ name: 'ids', pattern: '(unclosed', strategy: 'redact' }], says: /masking\[0\]\.pattern: .*\(rule "ids"\)/ },
      { rules: [{ name: 'emails', detect: 'email', strategy: 'redact', keep_last: 2 }], says: /masking\[0\]\.keep_last: only applies to strategy partial \(rule "emails"\)/ },
      { rules: [{ name: 'a', detect: 'email', strategy: 'partial' }, { name: 'a', detect: 'card', strategy: 'redact' }], says: /masking\[1\]\.name: masking rule "a" is defined twice/ },
      { rules: [{ name: 'x', detect: 'emial', strategy: 'redact' }], says: /masking\[0\]\.detect: unknown detector "emial"/ },
      // Never resolved (so no file is read for it): a rule cannot carry a secret reference.
      { rules: [{ name: 'y', detect: 'email', strategy: 'redact', replacement: '${file:/etc/hostname}' }], says: /masking\[0\]\.replacement: holds a secret reference/ },
    ];
    for (const { rules, says } of cases) {
      const { status, body } = await call('masking.save', { rules }, gateway.dbaToken);
      expect(status).toBe(400);
      if (body.ok) throw new Error('an invalid rule was saved');
      expect(body.error.code).toBe('invalid_input');
      expect(body.error.message).toMatch(says);
    }
    expect(await readFile(gateway.configFile)).toEqual(before);
    expect(await leftovers()).toEqual([]);
    expect(await emailsSeenByNewSession()).toEqual(['[redacted]', '[redacted]']);
  });

  it('refuses to save while the config file is read-only, and the rules in force stay', async () => {
    const before = await readFile(gateway.configFile);
    const mode = (await stat(gateway.configFile)).mode & 0o777;
    await chmod(gateway.configFile, 0o444);
    try {
      const { status, body } = await call('masking.save', { rules: [{ name: 'emails', columns: ['public.customers.email'], strategy: 'partial' }] }, gateway.dbaToken);
      expect(status).toBe(503);
      if (body.ok) throw new Error('a read-only config was written');
      expect(body.error.message).toContain('read-only');
      expect(body.error.message).toContain('The rules in force are unchanged');
    } finally {
      await chmod(gateway.configFile, mode);
    }
    expect(await readFile(gateway.configFile)).toEqual(before);
    expect(await leftovers()).toEqual([]);
    expect(await emailsSeenByNewSession()).toEqual(['[redacted]', '[redacted]']);
  });

  it('refuses to save a file the gateway could not restart from, saying what is wrong outside masking without a secret', async () => {
    const before = await readFile(gateway.configFile);
    const secretFile = join(dirname(gateway.configFile), 'upstream-password');
    await rename(secretFile, `${secretFile}.moved`);
    try {
      const { status, body } = await call('masking.save', { rules: [{ name: 'emails', columns: ['public.customers.email'], strategy: 'partial' }] }, gateway.dbaToken);
      expect(status).toBe(503);
      if (body.ok) throw new Error('saved a config that would not load');
      expect(body.error.message).toMatch(/sluice\.yaml:\d+: resources\[0\]\.password: secret file upstream-password cannot be read \(ENOENT\)/);
      expect(body.error.message).toContain('outside masking');
      expect(body.error.message).not.toContain(db.password);
    } finally {
      await rename(`${secretFile}.moved`, secretFile);
    }
    expect(await readFile(gateway.configFile)).toEqual(before);
    expect(await emailsSeenByNewSession()).toEqual(['[redacted]', '[redacted]']);
  });

  it('saves a valid rule set: file replaced with a backup, new sessions mask by it at once, open ones keep theirs, the change audited', async () => {
    const before = await readFile(gateway.configFile, 'utf8');
    const mode = (await stat(gateway.configFile)).mode & 0o777;
    // A session opened before the save keeps the rules it started with.
    const earlier: pg.Client = await gateway.connect();
    try {
      const rules = [
        { name: 'emails', columns: ['public.customers.email'], strategy: 'partial' },
        { name: 'pii-in-notes', detect: ['email', 'card'], strategy: 'redact', except_groups: ['dba'] },
      ];
      const { status, body } = await call<MaskingSaveResult>('masking.save', { rules }, gateway.dbaToken);
      if (!body.ok) throw new Error(body.error.message);
      expect(status).toBe(200);
      const saved = body.value;
      expect(saved.rules).toEqual(rules);
      expect(saved.openSessions).toBe(1);

      // The file: the new section, everything else byte-for-byte (comments, secret references).
      const after = await readFile(gateway.configFile, 'utf8');
      const [head] = before.split('masking:');
      expect(after.startsWith(head!)).toBe(true);
      expect(after).toContain(OPERATOR_NOTE);
      expect(after).toContain('resources:  # upstreams the gateway holds credentials for\n');
      expect(after).toContain('password: ${file:upstream-password}');
      expect(after.endsWith(before.slice(before.indexOf('audit:')))).toBe(true);
      expect(readMaskingSection(after).rules).toEqual(rules);
      expect(saved.yaml).toBe(readMaskingSection(after).yaml);
      expect((await stat(gateway.configFile)).mode & 0o777).toBe(mode);

      // The backup: the previous file, same mode.
      expect(saved.backup).toMatch(new RegExp(`^${gateway.configFile.replace(/[.]/g, '\\.')}\\.\\d{4}-\\d\\d-\\d\\dT[\\d-]+\\.\\d+Z\\.bak$`));
      expect(await readFile(saved.backup, 'utf8')).toBe(before);
      expect((await stat(saved.backup)).mode & 0o777).toBe(mode);
      expect(await leftovers()).toEqual([basename(saved.backup)]);

      // In force for a new session at once; the gateway kept running.
      expect(await emailsSeenByNewSession()).toEqual(['****@example.com', '****@example.org']);
      const fresh = await gateway.connect();
      const notes = await fresh.query<{ note: string }>('SELECT note FROM customers WHERE id = 1');
      expect(notes.rows[0]!.note).toBe('call [redacted:email] about [redacted:card]');
      await fresh.end();
      // The session opened before keeps its rules until it reconnects.
      expect((await earlier.query<{ email: string }>('SELECT email FROM customers ORDER BY id')).rows.map((row) => row.email)).toEqual(['[redacted]', '[redacted]']);

      // Audited: a session of its own with one `config` event, readable by an auditor.
      const events = await call<{ kind: string; payload: Record<string, unknown> }[]>('sessions.events', { id: saved.auditSession }, gateway.staff.carol);
      if (!events.body.ok) throw new Error(events.body.error.message);
      const config = events.body.value.find((event) => event.kind === 'config');
      expect(config?.payload).toMatchObject({
        section: 'masking',
        file: gateway.configFile,
        backup: saved.backup,
        rules: ['emails', 'pii-in-notes'],
        added: ['pii-in-notes'],
        removed: [],
        changed: ['emails'],
        yaml: saved.yaml,
      });
      expect(config?.payload.before_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(config?.payload.after_sha256).not.toBe(config?.payload.before_sha256);
      const session = await gateway.engine.store.getSession(saved.auditSession);
      expect(session).toMatchObject({ resource: 'sluice.config', protocol: 'http', status: 'closed', application: 'masking.save', identity: { subject: 'dba-dave' } });
      expect(gateway.logs.some((line) => line.includes('masking rules saved') && line.includes('subject=dba-dave') && line.includes('rules="emails,pii-in-notes"'))).toBe(true);
    } finally {
      await earlier.end();
    }
  });

  it.skipIf(!psql)('a new psql session sees the rules saved last, with no restart', async () => {
    const rules = [{ name: 'emails', columns: ['public.customers.email'], strategy: 'hash' }];
    const { body } = await call<MaskingSaveResult>('masking.save', { rules }, gateway.dbaToken);
    if (!body.ok) throw new Error(body.error.message);
    const { stdout } = await run(psql!, [gateway.url, '-XAtc', 'SELECT email FROM customers ORDER BY id'], { env: { ...process.env, PGPASSWORD: gateway.token } });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(line).toMatch(/^[0-9a-f]{32}$/);
    expect(stdout).not.toContain('@example');
  });

  it('serializes concurrent saves: each lands whole, the last one wins, one backup each', async () => {
    const before = (await leftovers()).length;
    const saves = ['redact', 'partial', 'null'].map((strategy) => call<MaskingSaveResult>('masking.save', { rules: [{ name: 'emails', columns: ['public.customers.email'], strategy }] }, gateway.dbaToken));
    const results = await Promise.all(saves);
    expect(results.map((result) => result.status)).toEqual([200, 200, 200]);
    expect((await leftovers()).length).toBe(before + 3);
    const { rules } = readMaskingSection(await readFile(gateway.configFile, 'utf8'));
    expect(rules).toHaveLength(1);
    expect(['redact', 'partial', 'null']).toContain(rules[0]!.strategy);
  });

  it('refuses a save from an editor that loaded an older file (409), and takes one with the current version', async () => {
    const loaded = await call<MaskingRulesView>('masking.rules', {}, gateway.dbaToken);
    if (!loaded.body.ok) expect.fail(loaded.body.error.message);
    // Someone else saves in between.
    const other = await call<MaskingSaveResult>('masking.save', { rules: [{ name: 'emails', columns: ['public.customers.email'], strategy: 'hash' }], version: loaded.body.value.version }, gateway.dbaToken);
    expect(other.status).toBe(200);
    const file = await readFile(gateway.configFile, 'utf8');
    const stale = await call<MaskingSaveResult>('masking.save', { rules: [{ name: 'emails', columns: ['public.customers.email'], strategy: 'null' }], version: loaded.body.value.version }, gateway.dbaToken);
    expect(stale.status).toBe(409);
    expect(stale.body.ok ? '' : stale.body.error.message).toMatch(/changed since you loaded .*reload/);
    expect(await readFile(gateway.configFile, 'utf8')).toBe(file);
    if (!other.body.ok) expect.fail('the first save failed');
    const current = await call<MaskingSaveResult>('masking.save', { rules: [{ name: 'emails', columns: ['public.customers.email'], strategy: 'null' }], version: other.body.value.version }, gateway.dbaToken);
    expect(current.status).toBe(200);
  });
});

describe('the masking section splice', () => {
  const FILE = ['# top', 'data_dir: ./data', 'masking:   # rules', '  # emails first', '  - { name: emails, detect: email, strategy: partial }', '  - name: ssn  # keep me', '    columns: [public.users.ssn]', '    strategy: redact', '', '# before audit', 'audit: { durability: batched }', ''].join('\n');

  it('keeps unchanged rules with their comments and everything outside the section byte for byte', () => {
    const [emails, ssn] = readMaskingSection(FILE).rules;
    const out = replaceMaskingSection(FILE, [ssn, { strategy: 'partial', name: 'cards', detect: ['card'], keep_last: 4 }, emails]);
    expect(out.startsWith('# top\ndata_dir: ./data\nmasking:\n')).toBe(true);
    expect(out.endsWith('\n# before audit\naudit: { durability: batched }\n')).toBe(true);
    expect(out).toContain('# keep me');
    expect(out).toContain('  - name: cards\n    detect: [ card ]\n    strategy: partial\n    keep_last: 4\n');
    expect(readMaskingSection(out).rules.map((rule) => rule.name)).toEqual(['ssn', 'cards', 'emails']);
  });

  it('adds a section to a file without one, and writes an empty list as []', () => {
    expect(replaceMaskingSection('data_dir: x\n', [{ name: 'a', detect: 'email', strategy: 'null' }])).toBe('data_dir: x\nmasking:\n  - name: a\n    detect: email\n    strategy: "null"\n');
    expect(replaceMaskingSection('masking: [{ name: a, detect: email, strategy: redact }]\naudit: {}\n', [])).toBe('masking: []\naudit: {}\n');
  });
});
