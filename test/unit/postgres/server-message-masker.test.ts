import { describe, expect, it } from 'vitest';
import { maskingRulesSchema } from '../../../proxy/config/schema.js';
import { MaskingRules } from '../../../proxy/masking/masking-rules.js';
import type { ContentMasker } from '../../../proxy/masking/masking-types.js';
import { decodeBackend } from '../../../proxy/postgres/backend-decode.js';
import { ProtocolError } from '../../../proxy/postgres/protocol-error.js';
import { maskNotification, maskParameterStatus, maskServerMessage, RAISED_REDACTION, redactQuotedValues } from '../../../proxy/postgres/server-message-masker.js';
import { frameOf, int32, notificationResponse, typed } from '../../fixtures/postgres/protocol-messages.js';
import { fuzzSeed, prng } from '../../helpers/prng.js';

const KEY = Buffer.alloc(32, 7);
const content = (strategy = 'redact'): ContentMasker =>
  new MaskingRules(maskingRulesSchema.parse([{ name: 'pii', detect: ['email', 'ssn'], strategy }]), KEY).profileFor(['ci']).content;
const pii = content();

type Fields = readonly (readonly [string, string | Buffer])[];

/** An ErrorResponse ('E') or NoticeResponse ('N') holding `fields` in this order. */
function message(code: 'E' | 'N', fields: Fields): Buffer {
  return typed(code, ...fields.flatMap(([type, text]) => [Buffer.from(type, 'latin1'), typeof text === 'string' ? Buffer.from(text, 'utf8') : text, Buffer.from([0])]), Buffer.from([0]));
}

/** The fields of an ErrorResponse / NoticeResponse as raw bytes, in order. */
function fieldsOf(bytes: Buffer): [string, Buffer][] {
  expect(bytes.readInt32BE(1)).toBe(bytes.length - 1);
  const fields: [string, Buffer][] = [];
  let at = 5;
  while (bytes[at] !== 0) {
    const nul = bytes.indexOf(0, at + 1);
    fields.push([String.fromCharCode(bytes[at]!), bytes.subarray(at + 1, nul)]);
    at = nul + 1;
  }
  expect(at + 1).toBe(bytes.length);
  return fields;
}

const texts = (bytes: Buffer) => Object.fromEntries(fieldsOf(bytes).map(([type, text]) => [type, text.toString('utf8')]));

/** Every strict prefix of `bytes` with its length word fixed up: a message cut short anywhere. */
function truncations(bytes: Buffer): Buffer[] {
  return Array.from({ length: bytes.length - 5 }, (_, cut) => {
    const short = Buffer.from(bytes.subarray(0, 5 + cut));
    short.writeInt32BE(short.length - 1, 1);
    return short;
  });
}

describe('ErrorResponse and NoticeResponse masking', () => {
  const every: Fields = [
    ['S', 'ERROR'],
    ['V', 'ERROR'],
    ['C', '22P02'],
    ['M', 'invalid input syntax for type integer: "x@y.com"'],
    ['D', 'mail alice@example.com about 123-45-6789'],
    ['H', 'ask bob@example.org'],
    ['P', '8'],
    ['p', '3'],
    ['q', "SELECT 'carol@example.net'"],
    ['W', 'SQL function "f" statement 1 for dan@example.com'],
    ['s', 'eve@example.com'],
    ['t', 'frank@example.com'],
    ['c', 'gus@example.com'],
    ['d', 'hal@example.com'],
    ['n', 'ivy@example.com'],
    ['F', 'numutils@example.c'],
    ['L', '617'],
    ['R', 'owner@example.com'],
    ['Z', 'a future field for jo@example.com'],
  ];

  it('masks every field but the structural ones, which stay byte-identical, in their original order', () => {
    const original = message('E', every);
    const masked = maskServerMessage(frameOf(original), pii, false);
    expect(masked.code).toBe('22P02');
    expect(masked.message).toBe('invalid input syntax for type integer: "[redacted:email]"');
    const before = fieldsOf(original);
    const after = fieldsOf(masked.bytes!);
    expect(after.map(([type]) => type)).toEqual(before.map(([type]) => type));
    for (const [index, [type, bytes]] of after.entries()) {
      if ('SVCPpFLR'.includes(type)) expect(bytes.equals(before[index]![1]), type).toBe(true);
      else expect(bytes.toString('utf8'), type).not.toMatch(/@example|x@y|123-45-6789/);
    }
    expect(texts(masked.bytes!).D).toBe('mail [redacted:email] about [redacted:ssn]');
    // Still a message PostgreSQL's clients can read.
    const decoded = decodeBackend(frameOf(masked.bytes!));
    expect(decoded.name === 'error' && decoded.detail).toBe('mail [redacted:email] about [redacted:ssn]');
  });

  it('forwards a message nothing changes as its original bytes', () => {
    const original = message('N', [
      ['S', 'NOTICE'],
      ['V', 'NOTICE'],
      ['C', '42P07'],
      ['M', 'relation "users" already exists, skipping'],
      ['F', 'parse_utilcmd.c'],
    ]);
    expect(maskServerMessage(frameOf(original), pii, false)).toEqual({ code: '42P07', message: 'relation "users" already exists, skipping', bytes: undefined });
    expect(maskServerMessage(frameOf(original), pii, true).bytes).toBeUndefined();
  });

  it('hides a whole field a null-strategy rule matches, and writes only ASCII into a field that is not UTF-8', () => {
    const nulls = maskServerMessage(frameOf(message('E', [['C', '23505'], ['M', 'oops'], ['D', 'for a@b.com']])), content('null'), false);
    expect(texts(nulls.bytes!).D).toBe('[hidden by a masking rule]');
    const latin1 = Buffer.from('caf\xe9 a@b.com', 'latin1');
    const other = maskServerMessage(frameOf(message('N', [['C', '00000'], ['M', latin1]])), pii, false);
    expect(other.message).toBe('[hidden by a masking rule]');
  });

  describe('for a statement that reads masked columns', () => {
    const cases: readonly [string, string, string][] = [
      ['M', 'invalid input syntax for type integer: "Zoë Liddell"', 'invalid input syntax for type integer: "[redacted]"'],
      ['M', 'invalid input value for enum mood: "so "sad""', 'invalid input value for enum mood: "[redacted]"'],
      ['M', 'value "99999999999" is out of range for type integer', 'value "[redacted]" is out of range for type integer'],
      ['D', 'Key (email)=(zoe at example) already exists.', 'Key (email)=([redacted]) already exists.'],
      ['D', 'Key (lower(email))=(Zoë (home)) already exists.', 'Key (lower(email))=([redacted]) already exists.'],
      ['D', 'Key (user_id)=(42) is not present in table "users".', 'Key (user_id)=([redacted]) is not present in table "users".'],
      ['D', 'Key (a)=(1) conflicts with existing key (a)=(2).', 'Key (a)=([redacted]) conflicts with existing key (a)=([redacted]).'],
      ['D', 'Failing row contains (1, Zoë, null).', 'Failing row contains ([redacted]).'],
      ['D', 'Partition key of the failing row contains (region) = (north).', 'Partition key of the failing row contains (region) = ([redacted]).'],
      ['D', 'Token "Zoë" is invalid.', 'Token "[redacted]" is invalid.'],
      ['W', 'JSON data, line 1: {"name": Zoë\nPL/pgSQL function f() line 2', 'JSON data, line 1: [redacted]\nPL/pgSQL function f() line 2'],
      ['W', 'COPY users, line 2, column name: "Zoë"', 'COPY users, line 2, column name: "[redacted]"'],
      ['W', `SQL statement "SELECT 'Zoë'::int"\nPL/pgSQL function inline_code_block line 3 at EXECUTE`, `SQL statement "SELECT '[redacted]'::int"\nPL/pgSQL function inline_code_block line 3 at EXECUTE`],
      ['q', "SELECT 'Zoë' || 'x'", "SELECT '[redacted]'"],
    ];
    for (const [type, text, expected] of cases) {
      it(`redacts the value in ${type} "${text.split('\n')[0]}"`, () => {
        const original = message('E', [['S', 'ERROR'], ['C', '22P02'], [type, text], ['P', '12']]);
        expect(maskServerMessage(frameOf(original), pii, false).bytes).toBeUndefined();
        const masked = maskServerMessage(frameOf(original), pii, true);
        expect(texts(masked.bytes!)[type]).toBe(expected);
        expect(texts(masked.bytes!).P).toBe('12');
      });
    }

    it('leaves identifiers PostgreSQL quotes alone', () => {
      const original = message('E', [['C', '42703'], ['M', 'column "emial" of relation "users" does not exist'], ['H', 'Perhaps you meant to reference the column "users.email".']]);
      expect(maskServerMessage(frameOf(original), pii, true).bytes).toBeUndefined();
      expect(redactQuotedValues('duplicate key value violates unique constraint "users_email_key"')).toBe('duplicate key value violates unique constraint "users_email_key"');
    });

    it('replaces what RAISE may have built from a value: message, detail and hint', () => {
      const raises: Fields[] = [
        [['S', 'NOTICE'], ['C', '00000'], ['M', 'user Zoë'], ['W', 'PL/pgSQL function inline_code_block line 1 at RAISE']],
        [['S', 'WARNING'], ['C', '01000'], ['M', 'user Zoë'], ['D', 'lives in Prague'], ['H', 'call her']],
        [['S', 'ERROR'], ['C', 'P0001'], ['M', 'user Zoë']],
        [['S', 'ERROR'], ['C', '22000'], ['M', 'user Zoë'], ['W', 'PL/pgSQL function check_user(text) line 4 at RAISE']],
      ];
      for (const fields of raises) {
        const original = message(fields[0]![1] === 'ERROR' ? 'E' : 'N', fields);
        expect(maskServerMessage(frameOf(original), pii, false).bytes).toBeUndefined();
        const masked = maskServerMessage(frameOf(original), pii, true);
        expect(masked.message).toBe(RAISED_REDACTION);
        const after = texts(masked.bytes!);
        for (const type of ['D', 'H']) if (type in after) expect(after[type]).toBe(RAISED_REDACTION);
        expect(after.S).toBe(fields[0]![1]);
        if ('W' in after) expect(after.W).toContain('at RAISE');
      }
    });
  });

  it('throws ProtocolError for a message cut short anywhere, or with bytes after its end', () => {
    const original = message('E', every);
    for (const short of truncations(original)) {
      expect(() => maskServerMessage(frameOf(short), pii, true)).toThrow(ProtocolError);
    }
    const trailing = Buffer.concat([original, Buffer.from('x')]);
    trailing.writeInt32BE(trailing.length - 1, 1);
    expect(() => maskServerMessage(frameOf(trailing), pii, false)).toThrow(/bytes after its final field/);
    expect(() => maskServerMessage(frameOf(typed('N', Buffer.from('Mno terminator'))), pii, false)).toThrow(/field 'M' is not terminated/);
  });
});

describe('NotificationResponse masking', () => {
  it('masks channel and payload and keeps the process id', () => {
    const masked = maskNotification(frameOf(notificationResponse(4711, 'a@b.com', 'send to zoe@example.com, ssn 123-45-6789')), pii)!;
    expect(masked.readInt32BE(1)).toBe(masked.length - 1);
    expect(masked.readInt32BE(5)).toBe(4711);
    expect(masked.subarray(9).toString('utf8')).toBe('[redacted:email]\0send to [redacted:email], ssn [redacted:ssn]\0');
    expect(masked.equals(notificationResponse(4711, '[redacted:email]', 'send to [redacted:email], ssn [redacted:ssn]'))).toBe(true);
  });

  it('forwards a notification nothing changes as its original bytes', () => {
    expect(maskNotification(frameOf(notificationResponse(1, 'jobs', '{"id": 1}')), pii)).toBeUndefined();
  });

  it('throws ProtocolError for a notification cut short anywhere, or with bytes after its payload', () => {
    const original = notificationResponse(4711, 'jobs', 'payload a@b.com');
    for (const short of truncations(original)) expect(() => maskNotification(frameOf(short), pii)).toThrow(ProtocolError);
    expect(() => maskNotification(frameOf(typed('A', int32(1), Buffer.from('c\0p\0extra'))), pii)).toThrow(/bytes after its payload/);
  });
});

describe('ParameterStatus masking', () => {
  const status = (name: string, value: string) => typed('S', Buffer.from(`${name}\0${value}\0`, 'utf8'));

  it('masks the value, keeps the name, and forwards what nothing changes', () => {
    expect(maskParameterStatus(frameOf(status('application_name', 'job for zoe@example.com')), pii)?.equals(status('application_name', 'job for [redacted:email]'))).toBe(true);
    expect(maskParameterStatus(frameOf(status('search_path', '"$user", public')), pii)).toBeUndefined();
  });

  it('throws ProtocolError for a status cut short anywhere', () => {
    for (const short of truncations(status('application_name', 'a@b.com'))) expect(() => maskParameterStatus(frameOf(short), pii)).toThrow(ProtocolError);
  });
});

describe('mutated server messages', () => {
  it('are masked, or refused with ProtocolError and nothing else, for 10,000 mutations', () => {
    const seed = fuzzSeed(20_240_611);
    const random = prng(seed);
    const samples = [
      message('E', [['S', 'ERROR'], ['C', '23505'], ['M', 'duplicate key'], ['D', 'Key (email)=(a@b.com) already exists.'], ['W', "SQL statement \"SELECT 'x'\""]]),
      message('N', [['S', 'NOTICE'], ['C', '00000'], ['M', 'ssn 123-45-6789'], ['W', 'PL/pgSQL function inline_code_block line 1 at RAISE']]),
      notificationResponse(9, 'chan', 'mail a@b.com'),
    ];
    for (let i = 0; i < 10_000; i++) {
      const bytes = Buffer.from(samples[i % samples.length]!);
      for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
        // Mostly NULs and field letters: the bytes framing depends on.
        const at = 5 + Math.floor(random() * (bytes.length - 5));
        bytes[at] = random() < 0.5 ? 0 : Math.floor(random() * 256);
      }
      const cut = random() < 0.3 ? bytes.subarray(0, 5 + Math.floor(random() * (bytes.length - 5))) : bytes;
      const frame = Buffer.from(cut);
      frame.writeInt32BE(frame.length - 1, 1);
      try {
        const out = frame[0] === 0x41 ? maskNotification(frameOf(frame), pii) : maskServerMessage(frameOf(frame), pii, random() < 0.5).bytes;
        if (out) expect(out.readInt32BE(1), `seed ${seed}, case ${i}`).toBe(out.length - 1);
      } catch (error) {
        expect(error, `seed ${seed}, case ${i}: ${frame.toString('hex')}`).toBeInstanceOf(ProtocolError);
      }
    }
  });
});
