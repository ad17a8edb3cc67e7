import { expect } from 'vitest';
import { commandTag, decodeBackend } from '../../../proxy/postgres/backend-decode.js';
import { decodeBind, decodeExecute, decodeParse, decodeQuery, decodeTarget } from '../../../proxy/postgres/frontend-decode.js';
import { BackendCode, FrontendCode } from '../../../proxy/postgres/message-codes.js';
import { CLIENT_LIMITS, MessageReader, UPSTREAM_LIMITS, type Frame } from '../../../proxy/postgres/message-reader.js';
import { StatementLog, type StatementRecord } from '../../../proxy/postgres/statement-log.js';

/**
 * A session as the relay sees it: client and server bytes are framed, decoded and reported to a
 * StatementLog exactly as proxy/postgres/session-relay.ts dispatches them, with a clock the test
 * moves by hand.
 */
export class Conversation {
  readonly records: StatementRecord[] = [];
  clock = 1_000;
  readonly log = new StatementLog(
    (record) => this.records.push(record),
    () => this.clock,
  );
  readonly #fromClient = new MessageReader(CLIENT_LIMITS);
  readonly #fromServer = new MessageReader(UPSTREAM_LIMITS);

  client(...messages: Buffer[]): this {
    for (const frame of frames(this.#fromClient, messages)) {
      switch (frame.code) {
        case FrontendCode.Query:
          this.log.query(decodeQuery(frame));
          break;
        case FrontendCode.Parse: {
          const parse = decodeParse(frame);
          this.log.parse(parse.statement, parse.text);
          break;
        }
        case FrontendCode.Bind: {
          const bind = decodeBind(frame);
          this.log.bind(bind.portal, bind.statement, bind.values);
          break;
        }
        case FrontendCode.Execute:
          this.log.execute(decodeExecute(frame).portal);
          break;
        case FrontendCode.Close: {
          const close = decodeTarget(frame);
          this.log.close(close.target, close.name);
          break;
        }
        case FrontendCode.Sync:
          this.log.sync();
          break;
        default:
          break;
      }
    }
    return this;
  }

  server(...messages: Buffer[]): this {
    for (const frame of frames(this.#fromServer, messages)) {
      switch (frame.code) {
        case BackendCode.DataRow:
          this.log.dataRow();
          break;
        case BackendCode.CommandComplete:
          this.log.commandComplete(commandTag(frame));
          break;
        case BackendCode.EmptyQueryResponse:
        case BackendCode.PortalSuspended:
          this.log.completeWithoutTag();
          break;
        case BackendCode.ErrorResponse: {
          const error = decodeBackend(frame) as unknown as { code?: string; message?: string };
          this.log.error(error.code ?? 'XX000', error.message ?? '');
          break;
        }
        case BackendCode.ReadyForQuery:
          this.log.readyForQuery();
          break;
        default:
          break;
      }
    }
    return this;
  }

  /** Moves the clock on by `ms`. */
  wait(ms: number): this {
    this.clock += ms;
    return this;
  }
}

function frames(reader: MessageReader, messages: readonly Buffer[]): Frame[] {
  reader.push(Buffer.concat(messages));
  const out: Frame[] = [];
  let frame: Frame | undefined;
  while ((frame = reader.next())) out.push(frame);
  expect(reader.buffered).toBe(0);
  return out;
}
