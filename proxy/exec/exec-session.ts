import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { ApprovalBroker, ApprovalOutcome } from '../approvals/approval-types.js';
import type { AuditStore, SessionRecording } from '../audit/audit-types.js';
import { commandLine } from '../common/command-line.js';
import type { Logger } from '../engine/logger.js';
import type { Identity } from '../identity/identity.js';
import type { MaskingRules } from '../masking/masking-rules.js';
import type { ContentMasker } from '../masking/masking-types.js';
import type { Decision } from '../policy/decision.js';
import { denialMessage } from '../policy/gateway-decisions.js';
import type { PolicyEngine } from '../policy/policy-engine.js';
import { runChild, type OutputStream, type RunningChild } from './child-runner.js';
import { prepareExecCommand, templateArgv, type ExecResourceConfig, type PreparedCommand } from './exec-launch.js';
import type { ClientMessage, ServerMessage } from './exec-protocol.js';
import { createOutputMasker, type OutputMasker } from './output-masker.js';
import { attachTerminalRecording, type TerminalRecording } from './terminal-recording.js';
import { outcomeMessage } from '../approvals/outcome-message.js';

// One `sluice exec` from start to end, whatever carries its messages (exec-socket.ts: a
// WebSocket): the caller's command line decided against policy (allow, deny, or held for
// approvers), then run with the resource's secrets injected, its output masked (content
// detectors of the caller's masking profile, and the injected secrets themselves), recorded as
// a terminal session and streamed to the caller, then its exit passed back. Nothing the client
// sends can crash the gateway: a message out of place ends the session with an error.

export interface ExecChannel {
  send(message: ServerMessage): void;
  /** Bytes sent but not yet written to the client: output pauses while it is high. */
  readonly buffered: number;
  /** Ends the connection after what was sent (1000 normal, 1008 policy, 1011 internal). */
  close(code: number, reason: string): void;
}

export interface ExecGatewayOptions {
  /** The exec resources by name. */
  readonly resources: ReadonlyMap<string, ExecResourceConfig>;
  readonly policy: Pick<PolicyEngine, 'decideExec' | 'resourcesFor'>;
  readonly approvals: ApprovalBroker;
  readonly store: Pick<AuditStore, 'beginSession' | 'failure'>;
  /** Read at each session's start (the rule editor swaps `rules`). */
  readonly masking: { readonly rules: MaskingRules };
  readonly strictAudit: boolean;
  /** Every secret the gateway holds (held-secrets.ts): scrubbed from every command's output, besides the command's own. */
  readonly heldSecrets?: readonly string[];
  readonly log: Logger;
  /** How long a command has to exit after SIGTERM/SIGHUP before SIGKILL (default 5 s). */
  readonly killGraceMs?: number;
}

/** Output sent but not yet written past which the command's output is paused, and where it resumes. */
const HIGH_WATER = 4 * 1024 * 1024;
const LOW_WATER = 512 * 1024;
const DRAIN_POLL_MS = 20;
/** Input a client may send before its command starts (while policy or approvers decide): kept for it, up to this much. */
const MAX_EARLY_INPUT = 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 5_000;
const CLOSE_NORMAL = 1000;
const CLOSE_POLICY = 1008;

/** The exec sessions of one engine: opened per client connection, ended together at shutdown. */
export class ExecGateway {
  readonly #options: ExecGatewayOptions;
  readonly #sessions = new Set<ExecSession>();
  #closing = false;

  constructor(options: ExecGatewayOptions) {
    this.#options = options;
  }

  /** Sessions open now. */
  get size(): number {
    return this.#sessions.size;
  }

  /** A new client: it sends `start` next. Returns what the transport feeds its messages and its end to. */
  open(identity: Identity, clientAddress: string, channel: ExecChannel): { receive(message: ClientMessage): void; refuse(message: string): void; gone(): void } {
    const session = new ExecSession(this.#options, identity, clientAddress, channel, () => this.#sessions.delete(session));
    if (this.#closing) session.fail('unavailable', 'the gateway is shutting down; try again when it is back');
    else this.#sessions.add(session);
    return { receive: (message) => session.receive(message), refuse: (message) => session.fail('invalid_input', message), gone: () => session.gone() };
  }

  /** Ends every session (commands are signalled, recordings closed as aborted) and waits for them. */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.#sessions].map((session) => session.shutdown()));
  }
}

type State = 'new' | 'deciding' | 'held' | 'running' | 'ended';

class ExecSession {
  #state: State = 'new';
  #recording: SessionRecording | undefined;
  #terminal: TerminalRecording | undefined;
  #heldApproval: string | undefined;
  #child: RunningChild | undefined;
  #stdin: PassThrough | undefined;
  #maskers: OutputMasker[] = [];
  #ended: Promise<void> | undefined;
  #endReason: string | undefined;
  #killTimer: NodeJS.Timeout | undefined;
  #timeout: NodeJS.Timeout | undefined;
  #drain: NodeJS.Timeout | undefined;
  /** Input, resizes and signals sent before the command started, in order. */
  #early: Exclude<ClientMessage, { type: 'start' }>[] = [];
  #earlySize = 0;

  constructor(
    private readonly options: ExecGatewayOptions,
    private readonly identity: Identity,
    private readonly clientAddress: string,
    private readonly channel: ExecChannel,
    private readonly forget: () => void,
  ) {}

  receive(message: ClientMessage): void {
    if (message.type === 'start') {
      if (this.#state !== 'new') return this.fail('invalid_input', 'the session has started already: send start once');
      this.#state = 'deciding';
      void this.#start(message).catch((error: unknown) => {
        this.options.log.error('exec session failed', { subject: this.identity.subject, reason: (error as Error).message });
        this.fail('internal', 'the gateway failed to run the command; its log has the detail');
      });
      return;
    }
    if (this.#state === 'new') return this.fail('invalid_input', `send start first (got ${message.type})`);
    if (this.#state === 'deciding' || this.#state === 'held' || (this.#state === 'running' && !this.#child)) {
      // Typed (or piped) ahead of the start: the command gets it once it runs.
      this.#earlySize += message.type === 'input' ? message.data.length : 16;
      if (this.#earlySize > MAX_EARLY_INPUT) return this.fail('invalid_input', `more than ${MAX_EARLY_INPUT} characters of input arrived before the command started`);
      this.#early.push(message);
      return;
    }
    const child = this.#child;
    if (this.#state !== 'running' || !child) return; // After the end: dropped.
    switch (message.type) {
      case 'input':
        this.#stdin?.write(message.data);
        return;
      case 'eof':
        this.#stdin?.end();
        return;
      case 'resize':
        child.resize(message.cols, message.rows);
        this.#terminal?.resize(message.cols, message.rows);
        return;
      case 'signal':
        child.kill(message.signal);
        return;
    }
  }

  /** The client went away: a held approval is cancelled, a running command ended. */
  gone(): void {
    this.#endReason ??= 'the client went away';
    this.#stop('SIGHUP');
  }

  /** Gateway shutdown. */
  shutdown(): Promise<void> {
    this.#endReason ??= 'the gateway shut down';
    this.#stop('SIGTERM');
    this.channel.close(1001, 'the gateway is shutting down');
    return this.#ended ?? Promise.resolve();
  }

  /** Ends the session with an error the client sees (and the recording, when there is one). */
  fail(code: 'invalid_input' | 'not_found' | 'denied' | 'unavailable' | 'internal', message: string): void {
    if (this.#state === 'running') {
      this.#endReason ??= message;
      this.#stop('SIGTERM');
      return;
    }
    const first = this.#state !== 'ended';
    this.#state = 'ended';
    if (this.#heldApproval) this.options.approvals.cancel(this.#heldApproval, message);
    if (!first) return;
    this.channel.send({ type: 'error', code, message, ...(this.#recording && { session: this.#recording.id }) });
    this.channel.close(code === 'internal' ? 1011 : CLOSE_POLICY, code);
    this.#ended = this.#recording?.end(code === 'denied' ? 'closed' : 'aborted', { statements: 1, errors: 1, rows: 0 }) ?? Promise.resolve();
    void this.#ended.finally(this.forget);
  }

  async #start(start: Extract<ClientMessage, { type: 'start' }>): Promise<void> {
    const { options, identity } = this;
    const resource = options.resources.get(start.resource);
    // The same answer for a resource that does not exist and one the caller may not use.
    if (!resource || !options.policy.resourcesFor(identity).includes(resource.name)) {
      return this.fail('not_found', `no exec resource named "${start.resource}" that you may use; ask an operator which exec resources your groups can run`);
    }
    if (options.store.failure) return this.fail('unavailable', 'the audit store is failing, so Sluice runs no command it cannot record; try again later');
    const argv = templateArgv(resource, start.args);
    const text = commandLine(argv);
    const profile = options.masking.rules.profileFor(identity.groups);
    const recording = options.store.beginSession({
      resource: resource.name,
      protocol: 'exec',
      identity: { subject: identity.subject, issuer: identity.issuer, method: identity.method, groups: identity.groups },
      clientAddress: this.clientAddress,
      application: 'sluice exec',
    });
    this.#recording = recording;
    const forRecord = (value: string) => maskText(profile.content, value);
    const decision = options.policy.decideExec({ identity, resource: resource.name, command: { argv, args: start.args, text } });
    const committed = recording.event('decision', {
      protocol: 'exec',
      effect: decision.effect,
      rule: decision.rule,
      reason: forRecord(decision.reason),
      trace: decision.trace,
      text: forRecord(text),
      command: argv.map(forRecord),
    });
    if (options.strictAudit) await committed;
    if (this.#isEnded()) return;
    if (decision.effect === 'deny') return this.fail('denied', denialMessage(decision));
    if (decision.effect === 'approve') {
      const outcome = await this.#approval(recording, resource, argv, forRecord(text), decision);
      if (this.#isEnded()) return;
      if (outcome.status !== 'approved') return this.fail('denied', outcomeMessage(outcome));
      options.approvals.executed(outcome.approval.id);
    }
    await this.#run(resource, start, argv.map(forRecord), profile.content);
  }

  #approval(recording: SessionRecording, resource: ExecResourceConfig, argv: readonly string[], shown: string, decision: Decision): Promise<ApprovalOutcome> {
    const { identity } = this;
    const exact = createHash('sha256').update(JSON.stringify(argv)).digest('hex');
    const pending = this.options.approvals.request(
      {
        sessionId: recording.id,
        resource: resource.name,
        protocol: 'exec',
        requester: { subject: identity.subject, issuer: identity.issuer, method: identity.method, groups: identity.groups, claims: identity.claims },
        statement: shown,
        statementHash: exact,
        fingerprint: `exec ${exact}`,
        rule: decision.rule,
        reasons: decision.trace.map((step) => `${step.effect} by ${step.rule}: ${step.why}`),
        ruleReason: decision.reason,
        history: [],
      },
      recording,
    );
    this.#state = 'held';
    this.#heldApproval = pending.approval.id;
    this.channel.send({ type: 'held', approval: pending.approval.id, message: `waiting for approval ${pending.approval.id}: ${decision.reason}` });
    return pending.outcome.finally(() => {
      this.#heldApproval = undefined;
    });
  }

  /** `shown`: the command as recorded (content detectors applied). */
  async #run(resource: ExecResourceConfig, start: Extract<ClientMessage, { type: 'start' }>, shown: readonly string[], content: ContentMasker): Promise<void> {
    const { options } = this;
    const prepared = await prepareExecCommand(resource, start.args, { ...(start.term !== undefined && { term: start.term }), ...(!start.pty && { term: 'dumb' }) });
    if (this.#isEnded()) return void (await prepared.cleanup());
    const cols = start.cols ?? 80;
    const rows = start.rows ?? 24;
    const terminal = attachTerminalRecording(this.#recording!, { command: shown, cols, rows });
    this.#terminal = terminal;
    const masker = (stream: OutputStream) =>
      createOutputMasker({ content, secrets: [...prepared.secrets, ...(options.heldSecrets ?? [])] }, (data) => {
        this.channel.send({ type: 'output', stream, data });
        terminal.output(data);
        this.#backpressure();
      });
    const byStream = new Map<OutputStream, OutputMasker>(start.pty ? [['pty', masker('pty')]] : [['stdout', masker('stdout')], ['stderr', masker('stderr')]]);
    this.#maskers = [...byStream.values()];
    this.#stdin = new PassThrough();
    this.#state = 'running';
    this.channel.send({ type: 'started', session: terminal.sessionId });
    const [file, ...args] = prepared.argv;
    const child = runChild({
      file: file!,
      args,
      env: prepared.env,
      ...(prepared.cwd !== undefined && { cwd: prepared.cwd }),
      pty: start.pty,
      cols,
      rows,
      stdin: this.#stdin,
      // A command that never started says so on stderr; in a pty there is only the one stream.
      onOutput: (data, stream) => (byStream.get(stream) ?? byStream.get('pty') ?? byStream.get('stderr'))!.write(data),
    });
    this.#child = child;
    for (const message of this.#early.splice(0)) this.receive(message);
    this.#timeout = setTimeout(() => {
      this.#notify(`sluice: ${resource.name} ran past its timeout (${Math.round(resource.timeout / 1000)}s) and was ended\n`, start.pty);
      this.#stop('SIGTERM');
    }, resource.timeout);
    this.#timeout.unref();
    this.#ended = this.#finish(child, terminal, prepared);
    void this.#ended.finally(this.forget);
  }

  async #finish(child: RunningChild, terminal: TerminalRecording, prepared: PreparedCommand): Promise<void> {
    const exit = await child.done;
    clearTimeout(this.#timeout);
    clearTimeout(this.#killTimer);
    clearTimeout(this.#drain);
    for (const masker of this.#maskers) masker.end();
    this.#state = 'ended';
    await prepared.cleanup();
    if (this.#endReason) await terminal.abort(`${this.#endReason}; the command ended with ${exit.signal ?? `exit code ${exit.exitCode}`}`);
    else await terminal.finish(exit);
    this.channel.send({ type: 'exit', session: terminal.sessionId, exitCode: exit.exitCode, signal: exit.signal });
    this.channel.close(CLOSE_NORMAL, 'exit');
  }

  /** Ends whatever is in progress: a held approval is cancelled, a command signalled (then killed after the grace time). */
  #stop(signal: NodeJS.Signals): void {
    const reason = this.#endReason ?? 'the session ended';
    if (this.#state === 'held' || this.#state === 'deciding' || this.#state === 'new') {
      this.#state = 'ended';
      if (this.#heldApproval) this.options.approvals.cancel(this.#heldApproval, reason);
      this.#ended ??= (this.#recording?.end('aborted', { statements: 1, errors: 1, rows: 0 }) ?? Promise.resolve()).finally(this.forget);
      return;
    }
    const child = this.#child;
    if (this.#state !== 'running' || !child) return;
    child.resume();
    child.kill(signal);
    this.#killTimer ??= setTimeout(() => child.kill('SIGKILL'), this.options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
    this.#killTimer.unref();
  }

  /** Read through a method: the state changes across awaits, which TypeScript's narrowing does not see. */
  #isEnded(): boolean {
    return this.#state === 'ended';
  }

  /** Pauses the command's output while the client is behind, resumes it once it has caught up. */
  #backpressure(): void {
    if (this.#drain || this.channel.buffered < HIGH_WATER || !this.#child) return;
    const child = this.#child;
    child.pause();
    const poll = () => {
      if (this.channel.buffered > LOW_WATER && this.#state === 'running') {
        this.#drain = setTimeout(poll, DRAIN_POLL_MS);
        return;
      }
      this.#drain = undefined;
      child.resume();
    };
    this.#drain = setTimeout(poll, DRAIN_POLL_MS);
  }

  /** A line from the gateway itself, to the client and the recording. */
  #notify(text: string, pty: boolean): void {
    const data = pty ? text.replace(/\n/g, '\r\n') : text;
    this.channel.send({ type: 'output', stream: pty ? 'pty' : 'stderr', data });
    this.#terminal?.output(data);
  }
}

/** Text through the caller's content detectors (what the record and approvers see). */
function maskText(content: ContentMasker, text: string): string {
  if (content.empty) return text;
  const masked = content.mask(text, new Map());
  return masked === null ? '[hidden by a masking rule]' : (masked ?? text);
}

