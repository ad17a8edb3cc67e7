import { describe, expect, it } from 'vitest';
import { commandTag, decodeBackend, rowsOfTag, transactionStatus } from '../../../proxy/postgres/backend-decode.js';
import { backendKeyData, errorResponse, parameterStatus, readyForQuery } from '../../../proxy/postgres/backend-writer.js';
import type { Frame } from '../../../proxy/postgres/message-reader.js';
import {
  authenticationMd5,
  authenticationSasl,
  authenticationSaslContinue,
  authenticationSaslFinal,
  commandComplete,
  cstring,
  dataRow,
  frameOf,
  int16,
  int32,
  rowDescription,
  typed,
} from '../../fixtures/postgres/protocol-messages.js';
import type { FramesJob, WorkerReport } from './decode-backend-worker.js';
import { runInWorker } from './isolated-worker.js';

/** The frame of `message` between two others in one buffer, as the reader hands frames out. */
function embedded(message: Buffer): Frame {
  const before = dataRow(['x']);
  const after = rowDescription([{ name: 'T', typeOid: 25, typeSize: -1 }]);
  return { code: message[0]!, buffer: Buffer.concat([before, message, after]), start: before.length, end: before.length + message.length };
}

/** decodeBackend on these frames, in order, in a worker of its own: a hang is reported, not suffered. */
async function decodeIsolated(frames: readonly Buffer[]): Promise<{ reports: WorkerReport[]; hung: boolean }> {
  const job: FramesJob = { kind: 'frames', frames: frames.map((frame) => frame.toString('hex')) };
  const run = await runInWorker<WorkerReport>(new URL('./decode-backend-worker.ts', import.meta.url), job, 2_000);
  return { reports: run.messages, hung: run.hung };
}

describe('commandTag', () => {
  it('reads the tag of a CommandComplete without its NUL', () => {
    expect(commandTag(frameOf(commandComplete('SELECT 3')))).toBe('SELECT 3');
    expect(commandTag(embedded(commandComplete('INSERT 0 1')))).toBe('INSERT 0 1');
    expect(commandTag(frameOf(commandComplete('')))).toBe('');
  });

  it('reads nothing outside the frame when the body is empty', () => {
    expect(commandTag(embedded(typed('C')))).toBe('');
  });
});

describe('rowsOfTag', () => {
  it.each([
    ['SELECT 3', 3],
    ['INSERT 0 12', 12],
    ['UPDATE 0', 0],
    ['DELETE 7', 7],
    ['MERGE 2', 2],
    ['COPY 1000000', 1_000_000],
    ['FETCH 5', 5],
    ['MOVE 4', 4],
    ['CREATE TABLE', 0],
    ['BEGIN', 0],
    ['', 0],
    ['SELECT 99999999999999999999', 0],
  ])('reads %j as %i rows', (tag, rows) => {
    expect(rowsOfTag(tag)).toBe(rows);
  });
});

describe('transactionStatus', () => {
  it('reads idle, in-transaction and failed', () => {
    expect(transactionStatus(frameOf(readyForQuery('I')))).toBe('I');
    expect(transactionStatus(embedded(readyForQuery('T')))).toBe('T');
    expect(transactionStatus(embedded(readyForQuery('E')))).toBe('E');
  });

  it('takes an unknown status byte for idle', () => {
    expect(transactionStatus(frameOf(typed('Z', Buffer.from('X'))))).toBe('I');
  });

  // BUG (backend-decode.ts transactionStatus, line 36): the status byte is read at start + 5
  // without checking it lies before frame.end. For a ReadyForQuery with an empty body
  // ('Z' 00 00 00 04) it reads the first byte of the NEXT message in the buffer: followed by a
  // RowDescription ('T') it answers 'T', followed by an ErrorResponse ('E') it answers 'E'.
  it('reads nothing outside a ReadyForQuery that has no status byte', () => {
    expect(transactionStatus(embedded(typed('Z')))).toBe('I');
  });
});

describe('decodeBackend', () => {
  it('decodes the ErrorResponse fields the engine reads', () => {
    const error = decodeBackend(embedded(errorResponse({ code: '42P01', message: 'relation "t" does not exist', detail: 'd', hint: 'h' }))) as unknown as Record<string, unknown>;
    expect(error).toMatchObject({ name: 'error', severity: 'ERROR', code: '42P01', message: 'relation "t" does not exist', detail: 'd', hint: 'h' });
  });

  it('decodes ParameterStatus and BackendKeyData', () => {
    expect(decodeBackend(embedded(parameterStatus('search_path', '"$user", public')))).toMatchObject({ name: 'parameterStatus', parameterName: 'search_path', parameterValue: '"$user", public' });
    expect(decodeBackend(frameOf(backendKeyData(1234, -5678)))).toMatchObject({ name: 'backendKeyData', processID: 1234, secretKey: -5678 });
  });

  it('decodes the authentication requests the upstream login handles', () => {
    expect(decodeBackend(frameOf(typed('R', int32(0))))).toMatchObject({ name: 'authenticationOk' });
    expect(decodeBackend(frameOf(typed('R', int32(3))))).toMatchObject({ name: 'authenticationCleartextPassword' });
    expect(decodeBackend(frameOf(authenticationMd5(Buffer.from([1, 2, 3, 4]))))).toMatchObject({ name: 'authenticationMD5Password', salt: Buffer.from([1, 2, 3, 4]) });
    expect(decodeBackend(embedded(authenticationSasl(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'])))).toMatchObject({ name: 'authenticationSASL', mechanisms: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'] });
    expect(decodeBackend(embedded(authenticationSaslContinue('r=abc,s=c2FsdA==,i=4096')))).toMatchObject({ name: 'authenticationSASLContinue', data: 'r=abc,s=c2FsdA==,i=4096' });
    expect(decodeBackend(embedded(authenticationSaslFinal('v=c2ln')))).toMatchObject({ name: 'authenticationSASLFinal', data: 'v=c2ln' });
  });

  it('decodes one frame per call, whatever surrounds it in the buffer', () => {
    const frame = embedded(rowDescription([{ name: 'id', typeOid: 23, typeSize: 4 }]));
    expect(decodeBackend(frame)).toMatchObject({ name: 'other', message: { name: 'rowDescription', fieldCount: 1 } });
    expect(decodeBackend(frameOf(commandComplete('SELECT 1')))).toMatchObject({ name: 'other', message: { name: 'commandComplete', text: 'SELECT 1' } });
  });
});

describe('decodeBackend on malformed frames', () => {
  it('decodes a complete ErrorResponse in a worker (the harness the tests below rely on)', async () => {
    const { reports, hung } = await decodeIsolated([errorResponse({ code: '22012', message: 'division by zero' })]);
    expect(hung).toBe(false);
    expect(reports).toEqual([{ outcome: 'decoded', name: 'error' }]);
  });

  // BUG (backend-decode.ts decodeBackend, line 15, through pg-protocol's parseErrorMessage): an
  // ErrorResponse or NoticeResponse whose field list lacks its final NUL makes pg-protocol loop
  // forever (reading past the end yields '' which is never the '\0' it waits for). The relay
  // decodes every upstream ErrorResponse, so one such message from the upstream freezes the whole
  // gateway process. Input: 45 00 00 00 04 ('E', empty body), or 'E' + "SERROR\0" with no final NUL.
  it('refuses an ErrorResponse without its final NUL instead of looping forever', async () => {
    const { reports, hung } = await decodeIsolated([typed('E'), typed('E', Buffer.from('SERROR\0')), typed('N', Buffer.from('SNOTICE\0C00000\0'))]);
    expect(hung).toBe(false);
    expect(reports).toEqual([
      { outcome: 'threw', protocol: true, error: expect.any(String) },
      { outcome: 'threw', protocol: true, error: expect.any(String) },
      { outcome: 'threw', protocol: true, error: expect.any(String) },
    ]);
  });

  // BUG (backend-decode.ts decodeBackend, lines 12-20): pg-protocol throws plain Error/RangeError
  // for a truncated or unknown message (an Authentication request with a code it does not know,
  // such as 7 = GSS, or a BackendKeyData without its key), where callers expect ProtocolError.
  it('throws ProtocolError, and nothing else, for truncated or unknown messages', async () => {
    const frames = [typed('R', int32(7)), typed('R'), typed('K', int32(1)), typed('T', int16(3), cstring('a')), typed('D', int16(2), int32(1))];
    const { reports } = await decodeIsolated(frames);
    expect(reports).toEqual(frames.map(() => ({ outcome: 'threw', protocol: true, error: expect.any(String) })));
  });

  // BUG (backend-decode.ts, line 10 `const parser = new Parser()` and the comment at line 14): the
  // parser is shared by the whole process, and when pg-protocol throws mid-frame it keeps that
  // frame buffered. Every later decodeBackend call, for any session, first re-parses the stale
  // frame and throws the same error. Repro: decode 'R' 00000008 00000007 (AuthenticationGSS, as an
  // upstream with `gss` in pg_hba.conf sends), then a valid ParameterStatus: it throws
  // "Unknown authenticationOk message type 7" instead of decoding, and so does every later call,
  // so every new upstream login and every upstream ErrorResponse fails from then on.
  it('decodes the next frame normally after refusing one', async () => {
    const { reports } = await decodeIsolated([typed('R', int32(7)), parameterStatus('TimeZone', 'UTC'), errorResponse({ code: '22012', message: 'division by zero' })]);
    expect(reports.slice(1)).toEqual([
      { outcome: 'decoded', name: 'parameterStatus' },
      { outcome: 'decoded', name: 'error' },
    ]);
  });
});
