import { serialize } from 'pg-protocol';
import type { ApprovalBroker, ApprovalOutcome, Requester } from '../approvals/approval-types.js';
import type { SessionRecording } from '../audit/audit-types.js';
import { limitSetting, TOP_LEVEL, type CallerLimits, type EffectiveLimit } from '../limits/caller-limits.js';
import { commandTag } from './backend-decode.js';
import { errorResponse, noticeResponse, type ErrorFields } from './backend-writer.js';
import type { BoundValue } from './frontend-decode.js';
import { BackendCode } from './message-codes.js';
import type { Frame } from './message-reader.js';
import { statementHash } from './statement-gate.js';
import { recordedParams } from './statement-log.js';

/** The statement whose result is arriving, as the statement log holds it. */
export interface RunningStatement {
  readonly text: string;
  /** Bound values (extended protocol). */
  readonly values?: readonly BoundValue[];
}

export interface LimiterOptions {
  readonly limits: CallerLimits;
  readonly sessionId: string;
  readonly resource: string;
  readonly requester: Requester;
  readonly approvals: ApprovalBroker;
  readonly recording: SessionRecording;
  /** Text as the record and approvers see it (content masking applied). */
  readonly forRecord: (text: string) => string;
  readonly fingerprint: (text: string) => string;
  readonly running: () => RunningStatement | undefined;
  /** Sends a CancelRequest for the upstream backend; settles once the upstream has taken it (or could not be reached). */
  readonly cancelUpstream: () => Promise<void>;
}

/**
 * What becomes of a server frame, decided before the statement log and result masking see it:
 * carry on (undefined); drop it unseen; observe and send `replace` instead (the gateway's limit
 * error); stop reading the upstream, send `notice`, and hand the same frame back once `hold`
 * settles (a result held for approval); or drop it and send `reply` upstream.
 */
export type LimitEffect =
  | undefined
  | 'drop'
  | { readonly replace: Frame }
  | { readonly hold: Promise<void>; readonly notice: Buffer }
  | { readonly reply: Buffer };

type ResultLimit = 'rows_per_statement' | 'bytes_per_statement' | 'bytes_per_session';

interface Hit {
  readonly name: ResultLimit;
  readonly limit: EffectiveLimit;
  /** Rows the client had received of the statement. */
  readonly rows: number;
  /** The statement's text as recorded. */
  readonly text: string;
}

/** A statement whose result was stopped while it still runs upstream. */
interface Stop {
  readonly error: Frame;
  readonly hit: Hit;
}

interface Held {
  readonly hit: Hit;
  readonly approvalId: string;
  outcome?: ApprovalOutcome;
  /** The client cancelled (CancelRequest) while approvers were deciding. */
  cancelled?: boolean;
}

const SQLSTATE = '54000';
const CANCELLED: Omit<ErrorFields, 'severity'> = { code: '57014', message: 'canceling statement due to user request', detail: 'the result was held at a limit, waiting for approval' };
const COPY_FAIL = serialize.copyFail('Sluice stopped an earlier statement of this message at a limit');

/**
 * Enforces one session's result limits on the upstream-to-client path. DataRows (and COPY TO
 * STDOUT's CopyData) are counted, with their bytes as the upstream sent them, per statement and
 * per session. A statement's count ends at its CommandComplete, ErrorResponse,
 * EmptyQueryResponse or PortalSuspended: an Execute with a row limit is counted on its own, and
 * the next Execute of that portal starts again at zero (its max_rows already bounds it);
 * bytes_per_session bounds what a client pulls through many Executes, as it does for cursors.
 *
 * Past a limit (on_exceed deny, or approvers said no) the offending row and every later one of
 * the statement are dropped (still read: a backend blocked writing to a full socket does not act
 * on a cancel) and a CancelRequest goes upstream; the statement's end (the
 * upstream's 57014, or its CommandComplete when that came first) is replaced by the gateway's
 * 54000 error, which the statement log records. When the statement completed upstream anyway,
 * everything up to ReadyForQuery is dropped too: the client believes the statement failed, and
 * in the extended protocol expects the server to have skipped to Sync.
 *
 * A cancel is only sent while the statement still runs (not when its end is already in the same
 * chunk), and the ReadyForQuery after it waits (see `take`) until the upstream has taken the
 * CancelRequest: PostgreSQL discards a cancel that reaches a backend before it has read its next
 * command, and the client cannot send one before it has that ReadyForQuery. What remains: a
 * cancel the upstream has not taken within sendCancel's 5 s timeout could still land later; and
 * when a stopped statement completed upstream before the cancel landed, it (and what followed it
 * up to ReadyForQuery) did run, and commits with its transaction, whose status the ReadyForQuery
 * reports as the upstream has it (not failed); the `discarded` limit event records those commands.
 */
export class ResultLimiter {
  #rows = 0;
  #bytes = 0;
  /** Approvers let this statement past its per-statement limits. */
  #lifted = false;
  #sessionBytes = 0;
  #sessionLifted = false;
  #stop: Stop | undefined;
  /** A stopped statement completed upstream: drop frames up to ReadyForQuery. */
  #skipping: Hit | undefined;
  readonly #discarded: string[] = [];
  #held: Held | undefined;
  #cancelling: Promise<void> | undefined;
  #closed = false;

  constructor(private readonly options: LimiterOptions) {}

  frame(frame: Frame): LimitEffect {
    switch (frame.code) {
      case BackendCode.DataRow:
      case BackendCode.CopyData:
        return this.#row(frame);
      case BackendCode.CommandComplete:
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
      case BackendCode.ErrorResponse:
        return this.#resultEnd(frame);
      case BackendCode.ReadyForQuery:
        this.#ready();
        return undefined;
      case BackendCode.CopyDone:
        return this.#skipping || this.#stop ? 'drop' : undefined;
      // The server waits for COPY FROM STDIN data the client will never send: fail it.
      case BackendCode.CopyInResponse:
        return this.#skipping ? { reply: COPY_FAIL } : undefined;
      // Session state, not a statement's answer: the client and the gateway's parameters must see them.
      case BackendCode.ParameterStatus:
      case BackendCode.NotificationResponse:
        return undefined;
      default:
        return this.#skipping ? 'drop' : undefined;
    }
  }

  /**
   * What the next ReadyForQuery waits for (read with the relay's commit barrier): a
   * CancelRequest still on its way to the upstream.
   */
  take(): Promise<void> | undefined {
    return this.#cancelling;
  }

  /** A CancelRequest for the session: true when it cancelled a result held for approval. */
  cancel(): boolean {
    const held = this.#held;
    if (!held || held.outcome) return false;
    held.cancelled = true;
    this.options.approvals.cancel(held.approvalId, 'the client cancelled the statement');
    return true;
  }

  /** The session ended: a pending approval is cancelled. */
  close(cause: string): void {
    this.#closed = true;
    const held = this.#held;
    if (held && !held.outcome) this.options.approvals.cancel(held.approvalId, cause);
  }

  #row(frame: Frame): LimitEffect {
    if (this.#skipping || this.#stop) return 'drop';
    const size = frame.end - frame.start;
    const over = this.#over(size);
    if (!over) {
      this.#rows++;
      this.#bytes += size;
      this.#sessionBytes += size;
      return undefined;
    }
    const held = this.#held;
    if (held?.outcome) {
      // The same frame, handed back once approvers decided.
      this.#held = undefined;
      if (held.outcome.status !== 'approved') return this.#stopAt(held.hit, held.cancelled ? CANCELLED : deniedFields(held.hit, held.outcome));
      if (held.hit.name === 'bytes_per_session') this.#sessionLifted = true;
      else this.#lifted = true;
      return this.#row(frame);
    }
    const statement = this.options.running();
    const hit: Hit = { ...over, rows: this.#rows, text: this.options.forRecord(statement?.text ?? '') };
    if (this.options.limits.onExceed === 'approve') return this.#hold(hit, statement);
    this.#event(hit, 'stopped');
    return this.#stopAt(hit, stoppedFields(hit, true));
  }

  /** The limit this row would pass, if any. */
  #over(size: number): { name: ResultLimit; limit: EffectiveLimit } | undefined {
    const { rows_per_statement: rows, bytes_per_statement: bytes, bytes_per_session: session } = this.options.limits.limits;
    if (!this.#lifted) {
      if (rows && this.#rows >= rows.value) return { name: 'rows_per_statement', limit: rows };
      if (bytes && this.#bytes + size > bytes.value) return { name: 'bytes_per_statement', limit: bytes };
    }
    if (session && !this.#sessionLifted && this.#sessionBytes + size > session.value) return { name: 'bytes_per_session', limit: session };
    return undefined;
  }

  #stopAt(hit: Hit, fields: Omit<ErrorFields, 'severity'>): 'drop' {
    const error = errorResponse(fields);
    const stop: Stop = { error: { code: BackendCode.ErrorResponse, buffer: error, start: 0, end: error.length }, hit };
    this.#stop = stop;
    // After the frames already read: when the statement's end is among them, nothing runs to cancel.
    queueMicrotask(() => {
      if (this.#stop !== stop || this.#closed) return;
      const sent = this.options.cancelUpstream().finally(() => {
        if (this.#cancelling === sent) this.#cancelling = undefined;
      });
      this.#cancelling = sent;
    });
    return 'drop';
  }

  #resultEnd(frame: Frame): LimitEffect {
    if (this.#skipping) {
      if (frame.code === BackendCode.CommandComplete) this.#discarded.push(commandTag(frame));
      return 'drop';
    }
    const stop = this.#stop;
    this.#endStatement();
    if (!stop) return undefined;
    // An error ends the statement for the server too; anything else means it ran to its end.
    if (frame.code !== BackendCode.ErrorResponse) this.#skipping = stop.hit;
    return { replace: stop.error };
  }

  #ready(): void {
    const skipped = this.#skipping;
    if (skipped && this.#discarded.length > 0) {
      this.#event(skipped, 'discarded', { tags: [...this.#discarded] });
      this.#discarded.length = 0;
    }
    this.#skipping = undefined;
    this.#endStatement();
  }

  #endStatement(): void {
    this.#rows = 0;
    this.#bytes = 0;
    this.#lifted = false;
    this.#stop = undefined;
  }

  #hold(hit: Hit, statement: RunningStatement | undefined): LimitEffect {
    const { approvals } = this.options;
    const text = statement?.text ?? '';
    const values = statement?.values;
    const pending = approvals.request(
      {
        sessionId: this.options.sessionId,
        resource: this.options.resource,
        protocol: 'postgres',
        requester: this.options.requester,
        statement: hit.text,
        ...(values ? { params: recordedParams(values).map((param) => param && this.options.forRecord(param)) } : {}),
        statementHash: statementHash(text, values),
        fingerprint: this.options.fingerprint(text),
        rule: hit.limit.source,
        reasons: [`${limitWords(hit)}: the result reached ${reached(hit)}`],
        ruleReason: `${limitWords(hit)}: the result reached ${reached(hit)}`,
        history: [],
      },
      this.options.recording,
    );
    const held: Held = { hit, approvalId: pending.approval.id };
    this.#held = held;
    this.#event(hit, 'held', { approval: held.approvalId });
    const hold = pending.outcome.then((outcome) => {
      held.outcome = outcome;
      // The session's recording is sealed: the broker recorded the cancel.
      if (this.#closed) return;
      if (outcome.status === 'approved') approvals.executed(held.approvalId);
      this.#event(hit, outcome.status === 'approved' ? 'approved' : 'denied', { approval: held.approvalId, ...(outcome.status === 'approved' ? {} : { reason: outcome.reason }) });
    });
    const notice = noticeResponse({
      code: '01000',
      message: `waiting for approval ${held.approvalId} — this result reached ${limitWords(hit)}; approve in Sluice (desktop, web console, or \`sluice approve ${held.approvalId}\`)`,
      detail: `approved, the limit is lifted for ${hit.name === 'bytes_per_session' ? 'the rest of this session' : 'this statement'}; denied, the result stops here`,
    });
    return { hold, notice };
  }

  #event(hit: Hit, action: 'stopped' | 'held' | 'approved' | 'denied' | 'discarded', extra?: Readonly<Record<string, unknown>>): void {
    void this.options.recording.event('limit', { limit: hit.name, value: hit.limit.value, rule: hit.limit.source, action, rows: hit.rows, text: hit.text, ...extra });
  }
}

function limitWords(hit: Hit): string {
  const of = hit.limit.source === TOP_LEVEL ? 'the top level of limits' : `rule "${hit.limit.source}"`;
  return hit.name === 'rows_per_statement' ? `limit rows_per_statement of ${of}` : `limit ${hit.name} (${hit.limit.value} bytes) of ${of}`;
}

function reached(hit: Hit): string {
  return hit.name === 'rows_per_statement' ? `${hit.rows} rows` : `${hit.rows} rows and its next row would pass ${hit.limit.value} bytes${hit.name === 'bytes_per_session' ? ' for the session' : ''}`;
}

/** The error a stopped result ends with; `offerApproval` when on_exceed approve would have held it instead. */
function stoppedFields(hit: Hit, offerApproval: boolean): Omit<ErrorFields, 'severity'> {
  const setting = limitSetting(hit.name, hit.limit.source);
  const narrower = hit.name === 'bytes_per_session' ? 'start a new session' : 'run a narrower query (a WHERE clause or LIMIT)';
  return {
    code: SQLSTATE,
    message: `Sluice stopped this result at ${hit.rows} rows: ${limitWords(hit)}`,
    hint: `To get the rest, ${narrower}, or ask an administrator to raise ${setting}${offerApproval ? ` or set ${limitSetting('on_exceed', hit.limit.source)}: approve` : ''}.`,
  };
}

function deniedFields(hit: Hit, outcome: Exclude<ApprovalOutcome, { status: 'approved' }>): Omit<ErrorFields, 'severity'> {
  const { approval } = outcome;
  const by = approval.votes.filter((vote) => vote.decision === 'deny').map((vote) => vote.approver.subject);
  return { ...stoppedFields(hit, false), detail: `approval ${approval.id} ${outcome.status}${by.length > 0 ? ` by ${by.join(', ')}` : ''}: ${outcome.reason}` };
}
