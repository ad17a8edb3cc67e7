import { createHash } from 'node:crypto';
import type { SessionRecording } from '../audit/audit-types.js';
import type { ApprovalBroker, ApprovalOutcome, Requester } from '../approvals/approval-types.js';
import type { Decision } from '../policy/decision.js';
import { denialMessage, GATEWAY_RULES } from '../policy/gateway-decisions.js';
import { noticeResponse } from './backend-writer.js';
import { observeClientFrame } from './frame-observers.js';
import type { FrameWriter } from './frame-writer.js';
import { decodeExecute, decodeParse, decodeQuery, decodeTarget, type BoundValue } from './frontend-decode.js';
import { FrontendCode } from './message-codes.js';
import type { Frame } from './message-reader.js';
import { RAISE_EXTENDED_STEPS, raiseExtended, raiseQuery } from './raise-frames.js';
import { limitSetting } from '../limits/caller-limits.js';
import type { StatementRate } from '../limits/statement-rate.js';
import { recordedParams, type StatementLog, type Verdict } from './statement-log.js';
import type { Judgement, StatementJudge } from './statement-judge.js';
import { outcomeMessage } from '../approvals/outcome-message.js';

export interface GateOptions {
  readonly sessionId: string;
  readonly resource: string;
  readonly requester: Requester;
  readonly log: StatementLog;
  readonly judge: StatementJudge;
  readonly approvals: ApprovalBroker;
  readonly recording: SessionRecording;
  /** Text as the record and approvers see it (content masking applied). */
  readonly forRecord: (text: string) => string;
  readonly toUpstream: FrameWriter;
  readonly toClient: FrameWriter;
  /** After the gate wrote outside the relay's own read loop (a held statement settled): flush both ways. */
  readonly flush: () => void;
  /** Stop or restart reading the client while a held statement's queue is over its bound. */
  readonly pauseClient: (paused: boolean) => void;
  readonly fail: (error: unknown) => void;
  /** Why the audit store cannot record now (undefined while it can): statements are then refused, not run unrecorded. */
  readonly storeFailure?: () => Error | undefined;
  /** limits statements_per_minute for this caller, and the rule (or top level) it comes from. */
  readonly rate?: { readonly counter: StatementRate; readonly source: string };
}

/** A statement waiting for approvers, and where it came from. */
interface Held {
  readonly frame: Frame;
  readonly judgement: Judgement;
  /** Extended protocol: the portal being executed. */
  readonly portal?: string;
  readonly approvalId: string;
  /** Set when the client cancelled it (CancelRequest): answer as PostgreSQL answers a cancel. */
  cancelled?: boolean;
}

const HISTORY = 20;
/** Bytes a client may pipeline behind a held statement before the gateway stops reading it. */
const HELD_QUEUE_BYTES = 8 * 1024 * 1024;

/**
 * Decides every client statement before it goes upstream: allowed frames are forwarded as they
 * are; denied ones are replaced by a statement that makes the upstream raise the denial (see
 * raise-frames.ts); statements that need approval are held, with everything the client sends
 * after them, until approvers decide, and then forwarded exactly as held, once.
 */
export class StatementGate {
  #held: Held | undefined;
  readonly #queue: Frame[] = [];
  #queuedBytes = 0;
  /** The gateway raised an error in this extended-protocol batch: the server skips to Sync. */
  #skipping = false;
  #terminated = false;
  #closed = false;
  /** A statement waits for its judgement (the masking guard reads the catalog): later frames queue behind it. */
  #judging = false;
  readonly #history: string[] = [];

  constructor(private readonly options: GateOptions) {}

  /** The client sent Terminate (the relay ends the upstream once it is forwarded). */
  get terminated(): boolean {
    return this.#terminated;
  }

  /** One client frame, in arrival order. Throws ProtocolError for a malformed one. */
  accept(frame: Frame): void {
    if (this.#held || this.#judging || this.#queue.length > 0) {
      this.#queue.push(frame);
      this.#queuedBytes += frame.end - frame.start;
      if (this.#queuedBytes > HELD_QUEUE_BYTES) this.options.pauseClient(true);
      return;
    }
    this.#process(frame);
  }

  /** A CancelRequest for this session. True when it cancelled a held statement (nothing runs upstream to cancel). */
  cancel(): boolean {
    const held = this.#held;
    if (!held) return false;
    held.cancelled = true;
    this.options.approvals.cancel(held.approvalId, 'the client cancelled the statement');
    return true;
  }

  /** The session ended: a held statement's approval is cancelled; nothing more is forwarded. */
  close(cause: string): void {
    this.#closed = true;
    if (this.#held) this.options.approvals.cancel(this.#held.approvalId, cause);
    this.#queue.length = 0;
  }

  /** Processes one frame; false when it is now held. */
  #process(frame: Frame): boolean {
    const { log, toUpstream } = this.options;
    switch (frame.code) {
      case FrontendCode.Query: {
        const text = decodeQuery(frame);
        if (this.#skipping) break;
        return this.#judged(frame, this.options.judge.judge(text));
      }
      // SQL PREPARE shares the server's statement names: a protocol Parse or Close of one changes what EXECUTE runs.
      case FrontendCode.Parse: {
        const parse = decodeParse(frame);
        this.options.judge.forgetPrepared(parse.statement);
        log.parse(parse.statement, parse.text);
        toUpstream.forward(frame);
        return true;
      }
      case FrontendCode.Close: {
        const close = decodeTarget(frame);
        if (close.target === 'statement') this.options.judge.forgetPrepared(close.name);
        log.close(close.target, close.name);
        toUpstream.forward(frame);
        return true;
      }
      case FrontendCode.Execute: {
        const { portal } = decodeExecute(frame);
        const bound = log.portal(portal);
        // An unknown portal runs nothing: the server answers it with its own error.
        if (this.#skipping || !bound) break;
        return this.#judged(frame, this.options.judge.judge(bound.text), portal);
      }
      case FrontendCode.Sync:
        this.#skipping = false;
        break;
      case FrontendCode.FunctionCall:
        // The fast-path interface calls any function by OID (lo_import, ...), unseen by policy.
        this.#deny(frame, FAST_PATH.text, undefined, denialOf(FAST_PATH.decision), FAST_PATH.decision.rule);
        return true;
      default:
        break;
    }
    if (observeClientFrame(log, frame).terminate) this.#terminated = true;
    toUpstream.forward(frame);
    return true;
  }

  /** Gates a frame now, or once its judgement settles (queueing what follows); false while it waits. */
  #judged(frame: Frame, judgement: Judgement | Promise<Judgement>, portal?: string): boolean {
    if (!(judgement instanceof Promise)) return this.#gate(frame, judgement, portal);
    this.#judging = true;
    judgement.then(
      (settled) => {
        this.#judging = false;
        if (this.#closed) return;
        try {
          if (this.#gate(frame, settled, portal)) this.#drain();
          else this.options.flush();
        } catch (error) {
          this.options.fail(error);
        }
      },
      (error: unknown) => {
        this.#judging = false;
        this.options.fail(error);
      },
    );
    return false;
  }

  #gate(frame: Frame, judgement: Judgement, portal?: string): boolean {
    const { decision } = judgement;
    if (decision.effect !== 'deny' && (this.#unrecordable(frame, judgement, portal) || this.#overRate(frame, judgement, portal))) return true;
    switch (decision.effect) {
      case 'allow':
        this.#forward(frame, judgement, portal, { effect: 'allow', rule: decision.rule });
        return true;
      case 'deny':
        this.#recordDecision(judgement);
        this.#deny(frame, judgement.text, portal, denialOf(decision), decision.rule);
        return true;
      case 'approve':
        return this.#requestApproval(frame, judgement, portal);
    }
  }

  /** Fail closed: a statement the audit store cannot record does not run. */
  #unrecordable(frame: Frame, judgement: Judgement, portal: string | undefined): boolean {
    if (!this.options.storeFailure?.()) return false;
    this.#deny(frame, judgement.text, portal, STORE_FAILING, GATEWAY_RULES.auditStore);
    return true;
  }

  /** statements_per_minute: past it the statement is refused (it never runs), with when to retry. */
  #overRate(frame: Frame, judgement: Judgement, portal: string | undefined): boolean {
    const rate = this.options.rate;
    if (!rate) return false;
    const admitted = rate.counter.admit();
    if (admitted.ok) return false;
    const { limit } = rate.counter;
    const retry = Math.ceil(admitted.retryAfterMs / 1000);
    const setting = limitSetting('statements_per_minute', rate.source);
    void this.options.recording.event('limit', { limit: 'statements_per_minute', value: limit, rule: rate.source, action: 'refused', text: this.options.forRecord(judgement.text) });
    this.#deny(frame, judgement.text, portal, { code: '54000', message: `Sluice refused this statement: ${limit} statements in the last minute is the limit (${setting})`, hint: `retry in ${retry} s, or ask an administrator to raise ${setting}` }, rate.source);
    return true;
  }

  #forward(frame: Frame, judgement: Judgement, portal: string | undefined, verdict: Verdict): void {
    const { log, toUpstream } = this.options;
    const marked: Verdict = judgement.touchesMasked ? { ...verdict, touchesMasked: true } : verdict;
    if (portal === undefined) log.query(judgement.text, marked);
    else log.execute(portal, marked);
    toUpstream.forward(frame);
    this.options.judge.forwarded(judgement);
    this.#history.push(judgement.text);
    if (this.#history.length > HISTORY) this.#history.shift();
  }

  #deny(frame: Frame, text: string, portal: string | undefined, denial: NonNullable<Verdict['denial']>, rule: string): void {
    const { log, toUpstream } = this.options;
    const verdict: Verdict = { effect: 'deny', rule, denial };
    if (frame.code === FrontendCode.Execute) {
      log.injected(RAISE_EXTENDED_STEPS);
      log.execute(portal!, verdict);
      toUpstream.write(raiseExtended(denial.code));
      this.#skipping = true;
    } else {
      log.query(text, verdict);
      toUpstream.write(raiseQuery(denial.code));
    }
  }

  #requestApproval(frame: Frame, judgement: Judgement, portal: string | undefined): boolean {
    const { approvals, judge, sessionId } = this.options;
    const { decision } = judgement;
    const fingerprint = judge.fingerprint(judgement.text);
    const grant = approvals.sessionGrant(sessionId, fingerprint);
    if (grant) {
      this.#recordDecision(judgement, { approval: grant.id, granted_until: grant.grantedUntil });
      this.#forward(frame, judgement, portal, { effect: 'approve', rule: decision.rule, approval: grant.id });
      return true;
    }
    const values = portal === undefined ? undefined : this.options.log.portal(portal)?.values;
    const pending = approvals.request(
      {
        sessionId,
        resource: this.options.resource,
        protocol: 'postgres',
        requester: this.options.requester,
        statement: this.options.forRecord(judgement.text),
        ...(values ? { params: recordedParams(values).map((param) => param && this.options.forRecord(param)) } : {}),
        statementHash: statementHash(judgement.text, values),
        fingerprint,
        rule: decision.rule,
        reasons: decision.trace.map((step) => `${step.rule}: ${step.why}`),
        ruleReason: this.options.forRecord(decision.reason),
        ...(decision.sessionGrantMs ? { sessionGrantMs: decision.sessionGrantMs } : {}),
        history: this.#history.map(this.options.forRecord),
      },
      this.options.recording,
    );
    const id = pending.approval.id;
    this.#recordDecision(judgement, { approval: id });
    this.#held = { frame, judgement, portal, approvalId: id };
    this.options.toClient.write(
      noticeResponse({
        code: '01000',
        message: `waiting for approval ${id} — approve in Sluice (desktop, web console, or \`sluice approve ${id}\`)`,
        detail: decision.reason,
      }),
    );
    void pending.outcome.then((outcome) => this.#settle(outcome));
    return false;
  }

  #settle(outcome: ApprovalOutcome): void {
    const held = this.#held;
    if (!held || held.approvalId !== outcome.approval.id || this.#closed) return;
    this.#held = undefined;
    try {
      if (outcome.status === 'approved') {
        this.options.approvals.executed(held.approvalId);
        this.#forward(held.frame, held.judgement, held.portal, { effect: 'approve', rule: held.judgement.decision.rule, approval: held.approvalId });
      } else {
        this.#deny(held.frame, held.judgement.text, held.portal, held.cancelled ? CANCELLED : { code: '42501', message: outcomeMessage(outcome), detail: `statement: ${excerpt(held.judgement.text)}` }, held.judgement.decision.rule);
      }
      this.#drain();
    } catch (error) {
      this.options.fail(error);
    }
  }

  /** Processes what queued behind a held or judged statement, until the next one waits; then flushes. */
  #drain(): void {
    while (!this.#held && !this.#judging && this.#queue.length > 0) {
      const next = this.#queue.shift()!;
      this.#queuedBytes -= next.end - next.start;
      this.#process(next);
    }
    if (this.#queuedBytes <= HELD_QUEUE_BYTES) this.options.pauseClient(false);
    this.options.flush();
  }

  #recordDecision(judgement: Judgement, extra?: Readonly<Record<string, unknown>>): void {
    const { decision, statements } = judgement;
    void this.options.recording.event('decision', {
      effect: decision.effect,
      rule: decision.rule,
      reason: decision.reason,
      trace: decision.trace,
      text: this.options.forRecord(judgement.text),
      statements: statements.map((statement) => ({ kind: statement.kind, operations: statement.operations, reads: statement.reads, writes: statement.writes, flags: statement.flags })),
      ...extra,
    });
  }
}

const STORE_FAILING = {
  code: '58030',
  message: 'Sluice refused this statement: the audit store cannot record it right now',
  hint: 'the gateway keeps retrying the store; try again shortly, or ask an operator to check the gateway log',
};

const CANCELLED = { code: '57014', message: 'canceling statement due to user request', detail: 'the statement was waiting for approval; it never ran' };

const FAST_PATH: Judgement = {
  text: '-- fast-path function call',
  statements: [],
  decision: {
    effect: 'deny',
    rule: 'fast-path',
    reason: 'fast-path function calls (PQfn, large-object functions) bypass SQL policy and are not allowed through Sluice',
    trace: [{ rule: 'fast-path', effect: 'deny', why: 'FunctionCall message' }],
  },
};

/** The error a client sees for a policy denial: the rule and why, then the trace. */
function denialOf(decision: Decision): NonNullable<Verdict['denial']> {
  return {
    code: '42501',
    message: denialMessage(decision),
    ...(decision.trace.length > 1 ? { detail: decision.trace.map((step) => `${step.effect} by ${step.rule}: ${step.why}`).join('\n') } : {}),
  };
}


function excerpt(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** sha256 of the statement text and every parameter's bytes (length-prefixed, NULL distinct from empty). */
export function statementHash(text: string, values?: readonly BoundValue[]): string {
  const hash = createHash('sha256').update(text, 'utf8');
  for (const value of values ?? []) {
    const bytes = value === null ? undefined : typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const header = Buffer.allocUnsafe(4);
    header.writeInt32BE(bytes ? bytes.length : -1);
    hash.update(header);
    if (bytes) hash.update(bytes);
  }
  return hash.digest('hex');
}
