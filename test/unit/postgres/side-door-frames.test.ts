import { describe, expect, it } from 'vitest';
import { maskingRulesSchema } from '../../../proxy/config/schema.js';
import { builtinShape } from '../../../proxy/masking/builtin-types.js';
import type { CatalogCache } from '../../../proxy/masking/catalog-types.js';
import { MaskingRules } from '../../../proxy/masking/masking-rules.js';
import { errorResponse, noticeResponse, readyForQuery } from '../../../proxy/postgres/backend-writer.js';
import { observeServerFrame } from '../../../proxy/postgres/frame-observers.js';
import { MessageReader, UPSTREAM_LIMITS, type Frame } from '../../../proxy/postgres/message-reader.js';
import { MaskingFailure, ResultMasker } from '../../../proxy/postgres/result-masker.js';
import { RAISED_REDACTION } from '../../../proxy/postgres/server-message-masker.js';
import { StatementLog, type StatementRecord, type Verdict } from '../../../proxy/postgres/statement-log.js';
import {
  bindComplete,
  commandComplete,
  copyData,
  copyDone,
  copyOutResponse,
  int16,
  notificationResponse,
  parseComplete,
  typed,
} from '../../fixtures/postgres/protocol-messages.js';

// The side doors as the relay drives them: observeServerFrame with a session's ResultMasker and
// StatementLog. What the client would receive, and what the record keeps.

const KEY = Buffer.alloc(32, 5);
const RULES = new MaskingRules(maskingRulesSchema.parse([{ name: 'pii', detect: ['email', 'ssn'], strategy: 'redact', groups: ['ci'] }]), KEY);

/** Built-in types only; these tests never describe a table's columns. */
const catalog: CatalogCache = {
  origin: () => undefined,
  shape: builtinShape,
  load: async () => {},
  relationsByName: () => undefined,
  loadNames: async () => {},
  close: async () => {},
};

const allow = (touchesMasked = false): Verdict => ({ effect: 'allow', rule: 'ci-all', touchesMasked });

class Session {
  readonly records: StatementRecord[] = [];
  readonly log = new StatementLog((record) => this.records.push(record), () => 0);
  readonly parameters = new Map([['client_encoding', 'UTF8']]);
  readonly results: ResultMasker;
  readonly #reader = new MessageReader(UPSTREAM_LIMITS);

  constructor(groups: readonly string[]) {
    this.results = new ResultMasker(RULES.profileFor(groups), catalog, { rows: 0, bytes: 0 }, 'testdb', this.parameters);
  }

  /** Feeds server messages through the observer; what the client receives (dropped frames left out). */
  server(...messages: Buffer[]): Buffer[] {
    this.#reader.push(Buffer.concat(messages));
    const sent: Buffer[] = [];
    let frame: Frame | undefined;
    while ((frame = this.#reader.next())) {
      const effect = observeServerFrame(this.log, frame, this.parameters, this.results);
      if (effect === undefined) sent.push(frame.buffer.subarray(frame.start, frame.end));
      else if (Buffer.isBuffer(effect)) sent.push(effect);
      else if (effect !== 'drop') throw new Error('unexpected effect');
    }
    return sent;
  }
}

const text = (frames: readonly Buffer[]) => Buffer.concat(frames).toString('utf8');

describe('server frames that can carry a masked value', () => {
  const sideDoors = [
    errorResponse({ code: '22P02', message: 'invalid input syntax for type integer: "x@y.com"' }),
    noticeResponse({ code: '00000', message: 'ssn 123-45-6789' }),
    notificationResponse(7, 'c', 'mail a@b.com'),
    copyOutResponse(1),
    copyData(Buffer.from('a@b.com\n')),
    copyDone(),
    commandComplete('COPY 1'),
    readyForQuery('E'),
  ];

  it('pass untouched, as their original bytes, when no rule applies to the caller', () => {
    const session = new Session(['dba']);
    expect(session.results.active).toBe(false);
    session.log.query('SELECT 1', allow(true));
    expect(Buffer.concat(session.server(...sideDoors)).equals(Buffer.concat(sideDoors))).toBe(true);
    expect(session.records[0]!.error?.message).toBe('invalid input syntax for type integer: "x@y.com"');
  });

  it('are masked for a caller with content rules, and the record keeps the masked error', () => {
    const session = new Session(['ci']);
    session.log.query("SELECT 'x@y.com'::int");
    const received = text(session.server(...sideDoors));
    expect(received).not.toMatch(/x@y\.com|a@b\.com|123-45-6789/);
    expect(received).toContain('integer: "[redacted:email]"');
    expect(received).toContain('mail [redacted:email]');
    expect(received).toContain('ssn [redacted:ssn]');
    expect(session.records).toEqual([
      expect.objectContaining({ error: { code: '22P02', message: 'invalid input syntax for type integer: "[redacted:email]"' }, masked: { pii: 1 }, rows: 1 }),
    ]);
  });

  it('redact quoted values and raised messages when the statement reads masked columns', () => {
    const session = new Session(['ci']);
    session.log.query('SELECT check_user(name) FROM users', allow(true));
    const received = session.server(
      noticeResponse({ code: '00000', message: 'checking Zoë' }),
      errorResponse({ code: '23505', message: 'duplicate key value violates unique constraint "users_name_key"', detail: 'Key (name)=(Zoë) already exists.' }),
      readyForQuery('E'),
    );
    expect(text(received)).not.toContain('Zoë');
    expect(text(received)).toContain(RAISED_REDACTION);
    expect(text(received)).toContain('Key (name)=([redacted]) already exists.');
    expect(session.records[0]!.error).toEqual({ code: '23505', message: 'duplicate key value violates unique constraint "users_name_key"' });
  });

  it("leave the gateway's own denial as it is", () => {
    const session = new Session(['ci']);
    const denial = { code: '42501', message: 'denied by rule no-ddl: DROP TABLE' };
    session.log.query('DROP TABLE users', { effect: 'deny', rule: 'no-ddl', denial, touchesMasked: true });
    const [sent] = session.server(errorResponse({ code: '42501', message: 'P0001 a@b.com' }));
    expect(sent!.equals(errorResponse(denial))).toBe(true);
  });

  it('fail closed on binary COPY output', () => {
    const session = new Session(['ci']);
    session.log.query('COPY users TO STDOUT (FORMAT binary)');
    expect(() => session.server(typed('H', Buffer.from([1]), int16(1), int16(1)))).toThrow(MaskingFailure);
  });

  it('refuse COPY output in a client encoding other than UTF-8', () => {
    const session = new Session(['ci']);
    session.parameters.set('client_encoding', 'LATIN1');
    session.log.query('COPY users TO STDOUT');
    expect(() => session.server(copyOutResponse(1))).toThrow(/client_encoding UTF8/);
  });
});

describe('StatementLog.touchesMasked', () => {
  it('answers for the statement the next server message is about', () => {
    const log = new StatementLog(() => {});
    expect(log.touchesMasked()).toBe(false);
    log.parse('', 'SELECT ssn FROM users');
    log.bind('', '', []);
    log.execute('', allow(true));
    log.sync();
    // Parse and Bind fail before anything is read.
    expect(log.touchesMasked()).toBe(false);
    log.stepComplete();
    log.stepComplete();
    expect(log.touchesMasked()).toBe(true);
    log.commandComplete('SELECT 1');
    // A failed commit at Sync is about what ran before it.
    expect(log.touchesMasked()).toBe(true);
    log.readyForQuery();
    log.query('SELECT 1', allow(false));
    expect(log.touchesMasked()).toBe(false);
  });

  it('follows error attribution through an extended pipeline', () => {
    const session = new Session(['ci']);
    session.log.parse('', "SELECT 'x'::int");
    session.log.bind('', '', []);
    session.log.execute('', allow(true));
    session.log.sync();
    const received = session.server(parseComplete(), bindComplete(), errorResponse({ code: '22P02', message: 'invalid input syntax for type integer: "Zoë"' }), readyForQuery('I'));
    expect(text(received)).toContain('integer: "[redacted]"');
    expect(session.records[0]!.error?.message).toBe('invalid input syntax for type integer: "[redacted]"');
  });
});
