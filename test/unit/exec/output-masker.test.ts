import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { MaskingRuleConfig } from '../../../proxy/config/schema.js';
import { createOutputMasker, NULLED_LINE, type OutputMaskerOptions } from '../../../proxy/exec/output-masker.js';
import { MaskingRules } from '../../../proxy/masking/masking-rules.js';

const EMAIL_RULE: MaskingRuleConfig = { name: 'emails', detect: 'email', strategy: 'redact' };
const SECRET = 'sk-live-4f9a8b7c6d5e';

function contentFor(rules: readonly MaskingRuleConfig[] = [EMAIL_RULE]) {
  return new MaskingRules(rules, randomBytes(32)).profileFor([]).content;
}

/** A masker whose output is collected; `next()` resolves with the next chunk not yet taken (emitted already, or when it is). */
function masker(options: OutputMaskerOptions) {
  const out: string[] = [];
  let taken = 0;
  let waiting: (() => void) | undefined;
  const m = createOutputMasker(options, (data) => {
    out.push(data);
    waiting?.();
  });
  const next = async (): Promise<string> => {
    while (taken >= out.length) await new Promise<void>((resolve) => (waiting = resolve));
    return out[taken++]!;
  };
  return { m, out, text: () => out.join(''), next };
}

describe('createOutputMasker', () => {
  it('masks a value whose parts arrive in separate chunks', () => {
    const { m, text } = masker({ content: contentFor(), idleMs: 60_000, holdMs: 60_000 });
    for (const chunk of ['user: ali', 'ce@exam', 'ple.com is ', 'active\r\nnext line\n']) m.write(chunk);
    expect(text()).not.toContain('alice@example.com');
    expect(text()).toMatch(/^user: \S+ is active\r\nnext line\n$/);
    expect(m.hits.get('emails')).toBe(1);
  });

  it('lets a prompt without a line break out once the output goes quiet', async () => {
    const { m, next } = masker({ content: contentFor(), idleMs: 5, holdMs: 60_000 });
    m.write('done\napp=> ');
    expect(await next()).toBe('done\n');
    expect(await next()).toBe('app=> ');
    m.end();
  });

  it('keeps a value still being written until its end arrives, then masks it whole', async () => {
    const { m, next, text } = masker({ content: contentFor(), idleMs: 5, holdMs: 60_000 });
    m.write('mail to alice@exa');
    expect(await next()).toBe('mail to ');
    m.write('mple.com\n');
    expect(await next()).toMatch(/^\S+\n$/);
    expect(text()).not.toContain('alice');
    m.end();
  });

  it('lets everything out after the hold time, a word in progress included', async () => {
    const { m, next, text } = masker({ idleMs: 5, holdMs: 10 });
    m.write('Password:');
    expect(await next()).toBe('Password:');
    expect(text()).toBe('Password:');
  });

  it('replaces held secrets, also split across chunks and across a quiet pause', async () => {
    const { m, next, text } = masker({ secrets: [SECRET], idleMs: 5, holdMs: 60_000 });
    m.write(`TOKEN=${SECRET.slice(0, 7)}`);
    m.write(`${SECRET.slice(7)}\nkey `);
    // The line is out at once; the prompt after a pause.
    expect(await next()).toBe('TOKEN=[secret]\n');
    expect(await next()).toBe('key ');
    m.write(`is ${SECRET.slice(0, 4)}`);
    // After the pause only "is " goes out: the tail may be the secret's start.
    expect(await next()).toBe('is ');
    m.write(`${SECRET.slice(4)} ok\n`);
    m.end();
    expect(text()).toBe('TOKEN=[secret]\nkey is [secret] ok\n');
    expect(m.secretsReplaced).toBe(2);
  });

  it('leaves short values alone: they occur in output by chance', () => {
    const { m, text } = masker({ secrets: ['prod'] });
    m.write('namespace prod\n');
    m.end();
    expect(text()).toBe('namespace prod\n');
  });

  it('holds a PEM block until its END line, then masks it', () => {
    const key = ['-----BEGIN PRIVATE KEY-----', 'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7', '-----END PRIVATE KEY-----'];
    const { m, out, text } = masker({ content: contentFor([{ name: 'keys', detect: 'private_key', strategy: 'redact' }]), idleMs: 60_000, holdMs: 60_000 });
    m.write(`before\n${key[0]}\n${key[1]}\n`);
    expect(text()).toBe('before\n');
    m.write(`${key[2]}\nafter\n`);
    expect(out.length).toBe(2);
    expect(text()).not.toContain('MIIEvQ');
    expect(text()).toContain('after\n');
  });

  it('hides only the line a null-strategy rule matched', () => {
    const { m, text } = masker({ content: contentFor([{ name: 'gone', detect: 'email', strategy: 'null' }]) });
    m.write('first\nmail bob@example.org here\nlast\n');
    m.end();
    expect(text()).toBe(`first\n${NULLED_LINE}\nlast\n`);
  });

  it('flushes what is pending at the end, and passes text with no rules unchanged', () => {
    const { m, text } = masker({});
    m.write('\x1b[1mbold\x1b[0m no newline');
    m.end();
    expect(text()).toBe('\x1b[1mbold\x1b[0m no newline');
    m.write('after end\n');
    expect(text()).toBe('\x1b[1mbold\x1b[0m no newline' + 'after end\n');
  });

  it('cuts a line longer than maxLine at its last space', () => {
    const { m, out } = masker({ maxLine: 16, idleMs: 60_000, holdMs: 60_000 });
    m.write('aaaa bbbb cccc dddd eeee');
    expect(out).toEqual(['aaaa bbbb cccc dddd ']);
    m.end();
    expect(out.join('')).toBe('aaaa bbbb cccc dddd eeee');
  });
});
