import { commandTag, decodeBackend } from './backend-decode.js';
import { errorResponse } from './backend-writer.js';
import { decodeBind, decodeExecute, decodeParse, decodeQuery, decodeTarget } from './frontend-decode.js';
import { BackendCode, describeCode, FrontendCode } from './message-codes.js';
import type { Frame } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';
import type { ResultMasker } from './result-masker.js';
import { decodeRowDescription } from './row-description.js';
import type { StatementLog } from './statement-log.js';

// What the relay reads from each frame on its way through, one function per direction. Client
// frames are forwarded unchanged; server frames that can carry a masked value (rows, errors,
// notices, notifications, COPY rows) may be replaced by masked ones. Throws ProtocolError for a
// frame that must not pass.

export interface ClientFrameEffect {
  /** The client sent Terminate. */
  readonly terminate: boolean;
}

const CONTINUE: ClientFrameEffect = { terminate: false };
const TERMINATE: ClientFrameEffect = { terminate: true };

export function observeClientFrame(log: StatementLog, frame: Frame): ClientFrameEffect {
  switch (frame.code) {
    case FrontendCode.Query:
      log.query(decodeQuery(frame));
      break;
    case FrontendCode.Parse: {
      const parse = decodeParse(frame);
      log.parse(parse.statement, parse.text);
      break;
    }
    case FrontendCode.Bind: {
      const bind = decodeBind(frame);
      log.bind(bind.portal, bind.statement, bind.values, bind.resultFormats);
      break;
    }
    case FrontendCode.Execute:
      log.execute(decodeExecute(frame).portal);
      break;
    case FrontendCode.Describe: {
      const describe = decodeTarget(frame);
      log.describe(describe.target, describe.name);
      break;
    }
    case FrontendCode.Close: {
      const close = decodeTarget(frame);
      log.close(close.target, close.name);
      break;
    }
    case FrontendCode.Sync:
      log.sync();
      break;
    case FrontendCode.FunctionCall:
      log.query('-- fast-path function call');
      break;
    case FrontendCode.Terminate:
      return TERMINATE;
    case FrontendCode.Flush:
    case FrontendCode.CopyData:
    case FrontendCode.CopyDone:
    case FrontendCode.CopyFail:
      break;
    default:
      throw new ProtocolError(`unexpected ${describeCode(frame.code)} message from the client`);
  }
  return CONTINUE;
}

/**
 * What becomes of a server frame: forwarded (undefined), dropped, replaced by the gateway's own
 * bytes, or forwarded with a promise the relay awaits before the next frame (result masking
 * reading the catalog for the columns just described).
 */
export type ServerFrameEffect = undefined | 'drop' | Buffer | Promise<void> | HeldFrame;

/** Forward this frame only once `until` settles (strict durability: a ReadyForQuery waits for its statements' commit). */
export interface HeldFrame {
  readonly until: Promise<void>;
}

/** What has to be committed before the client may see a statement complete (strict durability). */
export interface CommitBarrier {
  /** The commit of what was recorded since the last call, or undefined when nothing waits. */
  take(): Promise<void> | undefined;
}

export function observeServerFrame(log: StatementLog, frame: Frame, parameters: Map<string, string>, results?: ResultMasker, barrier?: CommitBarrier): ServerFrameEffect {
  switch (frame.code) {
    case BackendCode.DataRow: {
      const target = log.dataRow();
      if (results && target) return results.row(frame, target);
      break;
    }
    case BackendCode.CommandComplete:
      log.commandComplete(commandTag(frame));
      break;
    case BackendCode.EmptyQueryResponse:
    case BackendCode.PortalSuspended:
      log.completeWithoutTag();
      break;
    case BackendCode.ErrorResponse: {
      if (results?.active) {
        results.copyEnd();
        // Masked before it is recorded: the record keeps what the client was sent.
        const masked = results.serverMessage(frame, log.touchesMasked());
        const denial = log.error(masked.code ?? 'XX000', masked.message ?? '');
        return denial ? errorResponse(denial) : masked.bytes;
      }
      const error = decodeBackend(frame);
      if (error.name !== 'error') break;
      const denial = log.error(error.code ?? 'XX000', error.message ?? '');
      // The upstream raised a denial the gateway asked for: the client sees the gateway's words.
      if (denial) return errorResponse(denial);
      break;
    }
    case BackendCode.NoticeResponse:
      if (results?.active) return results.serverMessage(frame, log.touchesMasked()).bytes;
      break;
    case BackendCode.NotificationResponse:
      return results?.notification(frame);
    case BackendCode.CopyOutResponse:
    case BackendCode.CopyBothResponse:
      results?.copyOut(frame);
      break;
    case BackendCode.CopyData:
      // A COPY row counts as a row of its statement, and its hits count with it.
      if (results?.active) return results.copyData(frame, log.dataRow());
      break;
    case BackendCode.CopyDone:
      results?.copyEnd();
      break;
    case BackendCode.ReadyForQuery: {
      log.readyForQuery();
      const until = barrier?.take();
      if (until) return { until };
      break;
    }
    case BackendCode.ParseComplete:
    case BackendCode.BindComplete:
    case BackendCode.CloseComplete:
      if (log.stepComplete()) return 'drop';
      break;
    case BackendCode.RowDescription: {
      const fields = decodeRowDescription(frame);
      log.described(fields);
      return results?.describe(fields);
    }
    case BackendCode.NoData:
      log.described(null);
      break;
    case BackendCode.ParameterStatus: {
      const status = decodeBackend(frame);
      if (status.name === 'parameterStatus') parameters.set(status.parameterName, status.parameterValue);
      return results?.parameterStatus(frame);
    }
    case BackendCode.Authentication:
    case BackendCode.BackendKeyData:
    case BackendCode.NegotiateProtocolVersion:
      // Login messages after login would hand the client upstream secrets: never forward.
      throw new ProtocolError(`the upstream sent a ${describeCode(frame.code)} message after login`);
    default:
      break;
  }
  return undefined;
}
