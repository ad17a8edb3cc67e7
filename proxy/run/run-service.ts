import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiFailure } from '../api/api-result.js';
import type { AuditStore } from '../audit/audit-types.js';
import type { EngineEvents } from '../engine/engine-events.js';
import type { Logger } from '../engine/logger.js';
import { createOutputMasker, MIN_SCRUBBED_LENGTH, NULLED_LINE, SECRET_REPLACEMENT, type OutputMasker } from '../exec/output-masker.js';
import type { ContentMasker } from '../masking/masking-types.js';
import { openTerminalRecording, type TerminalRecording } from '../exec/terminal-recording.js';
import type { Identity } from '../identity/identity.js';
import type { RunCredentials } from '../identity/run-credentials.js';
import type { MaskingRules } from '../masking/masking-rules.js';

// The engine's side of `sluice run` (proxy/cli/commands/run.ts): a run is one CI command. Starting
// it issues the session credential the command reaches resources with and opens its terminal
// recording; the client streams the command's output here, where it is masked (the caller's
// content rules, and every upstream secret the gateway holds) before it is recorded or echoed back;
// finishing it records the exit, closes the recording and revokes the credential. A run the client
// never finishes (killed, network gone) expires: credential revoked, recording aborted.

/** Output held for an echo the client has not fetched yet; beyond it the oldest is dropped from the echo (never from the record). */
const MAX_ECHO = 4 * 1024 * 1024;

export interface RunStartInput {
  readonly command: readonly string[];
  readonly cols: number;
  readonly rows: number;
  readonly ttlMs: number;
  readonly application: string | null;
  readonly clientAddress: string;
}

/** Where the command reaches this gateway: the client turns these into PG* and SLUICE_<NAME>_URL variables. */
export interface RunEndpoints {
  readonly postgres?: {
    readonly host: string;
    readonly port: number;
    readonly tls: boolean;
    /** The listener's self-signed certificate (PEM, public): `verify-full` against it. */
    readonly certificate?: string;
    readonly resources: readonly string[];
  };
  /** `path` has no trailing slash: scripts append theirs (`$SLUICE_API_URL/customers`). */
  readonly http: readonly { readonly name: string; readonly host: string; readonly port: number; readonly secure: boolean; readonly path: string }[];
}

export interface RunGrant extends RunEndpoints {
  readonly run: string;
  /** The session credential the command gets (a secret: only ever returned to the caller who started the run). */
  readonly credential: string;
  /**
   * What the client (never the command) presents with runs.output and runs.finish, authenticating
   * those calls with the session credential: the caller's own JWT may expire long before a CI step ends.
   */
  readonly control: string;
  readonly expiresAt: number;
  /** The terminal recording's audit session. */
  readonly terminalSession: string;
}

export interface RunOutputResult {
  /** The masked output not yet echoed, when the call asked for it. */
  readonly masked?: string;
}

export interface RunFinishResult extends RunOutputResult {
  readonly terminalSession: string;
  /** Database and HTTP sessions the command opened. */
  readonly sessions: readonly string[];
  /** Values masked in the output, per masking rule (and `secret` for upstream secrets). */
  readonly masked_counts: Readonly<Record<string, number>>;
}

export interface RunServiceOptions {
  readonly store: Pick<AuditStore, 'beginSession'>;
  readonly credentials: RunCredentials;
  readonly events: EngineEvents;
  readonly masking: () => MaskingRules;
  /** Every upstream secret the gateway holds: scrubbed from output whatever the masking rules. */
  readonly secrets: () => readonly string[];
  /** The resources this caller may use, and where the listeners are. */
  readonly endpoints: (identity: Identity) => RunEndpoints;
  readonly log: Logger;
  readonly now?: () => number;
}

interface Run {
  readonly id: string;
  readonly owner: Identity;
  readonly control: Buffer;
  readonly recording: TerminalRecording;
  readonly masker: OutputMasker;
  readonly sessions: string[];
  readonly timer: NodeJS.Timeout;
  echo: string;
}

export class RunService {
  readonly #runs = new Map<string, Run>();
  readonly #options: RunServiceOptions;
  readonly #unsubscribe: () => void;

  constructor(options: RunServiceOptions) {
    this.#options = options;
    // Sessions opened with a run's credential are linked from its terminal recording.
    this.#unsubscribe = options.events.on('session.started', (session) => {
      const run = session.run === undefined ? undefined : this.#runs.get(session.run);
      if (!run) return;
      run.sessions.push(session.id);
      run.recording.link(session.id);
    });
  }

  start(identity: Identity, input: RunStartInput): RunGrant {
    if (identity.run !== undefined) throw new ApiFailure('forbidden', 'a run credential cannot start another run: start runs with your own token or OIDC JWT');
    const now = this.#now();
    const id = `run_${randomBytes(12).toString('base64url')}`;
    const expiresAt = now + input.ttlMs;
    const content = this.#options.masking().profileFor(identity.groups).content;
    const secrets = this.#options.secrets();
    const recording = openTerminalRecording(this.#options.store, {
      identity: { subject: identity.subject, issuer: identity.issuer, method: identity.method, groups: identity.groups },
      resource: 'sluice run',
      clientAddress: input.clientAddress,
      application: input.application,
      // The command line is recorded as masked as its output: an argument can hold data too.
      command: input.command.map((arg) => maskArgument(arg, content, secrets)),
      cols: input.cols,
      rows: input.rows,
    });
    const masker = createOutputMasker({ content, secrets }, (masked) => {
      recording.output(masked);
      const entry = this.#runs.get(id);
      if (entry) entry.echo = (entry.echo + masked).slice(-MAX_ECHO);
    });
    const timer = setTimeout(() => void this.#expire(id), input.ttlMs);
    timer.unref();
    const credential = this.#options.credentials.issue(identity, id, expiresAt);
    const control = randomBytes(32).toString('base64url');
    this.#runs.set(id, { id, owner: identity, control: Buffer.from(control), recording, masker, sessions: [], timer, echo: '' });
    this.#options.log.info('run started', { run: id, subject: identity.subject, terminal_session: recording.sessionId });
    return { run: id, credential, control, expiresAt, terminalSession: recording.sessionId, ...this.#options.endpoints(identity) };
  }

  output(identity: Identity, runId: string, control: string, data: string, echo: boolean): RunOutputResult {
    const run = this.#owned(identity, runId, control);
    run.masker.write(data);
    return echo ? { masked: this.#takeEcho(run) } : {};
  }

  async finish(identity: Identity, runId: string, control: string, result: { exitCode: number | null; signal: string | null }, echo: boolean): Promise<RunFinishResult> {
    const run = this.#owned(identity, runId, control);
    this.#end(run);
    run.masker.end();
    await run.recording.finish(result);
    this.#options.log.info('run finished', { run: run.id, exit_code: result.exitCode ?? 'none', signal: result.signal ?? 'none', sessions: run.sessions.length });
    return {
      terminalSession: run.recording.sessionId,
      sessions: [...run.sessions],
      masked_counts: { ...Object.fromEntries(run.masker.hits), ...(run.masker.secretsReplaced > 0 ? { secret: run.masker.secretsReplaced } : {}) },
      ...(echo ? { masked: this.#takeEcho(run) } : {}),
    };
  }

  /** Runs under way. */
  get size(): number {
    return this.#runs.size;
  }

  /** The engine stops: every run still open ends as aborted, its credential revoked. */
  async close(): Promise<void> {
    this.#unsubscribe();
    await Promise.all([...this.#runs.keys()].map((id) => this.#expire(id, 'the gateway stopped while the command ran')));
  }

  #owned(identity: Identity, runId: string, control: string): Run {
    const run = this.#runs.get(runId);
    const caller = run !== undefined && (identity.run === undefined ? run.owner.subject === identity.subject && run.owner.issuer === identity.issuer : identity.run === run.id);
    const presented = Buffer.from(control);
    // Someone else's run looks the same as none: run ids are not for guessing.
    if (!run || !caller || presented.length !== run.control.length || !timingSafeEqual(presented, run.control)) {
      throw new ApiFailure('not_found', `no run ${JSON.stringify(runId.slice(0, 64))} under way for you: it finished, expired, or was started by someone else`);
    }
    return run;
  }

  #takeEcho(run: Run): string {
    const echo = run.echo;
    run.echo = '';
    return echo;
  }

  #end(run: Run): void {
    clearTimeout(run.timer);
    this.#runs.delete(run.id);
    this.#options.credentials.revoke(run.id);
  }

  async #expire(id: string, reason = 'the run reached its time limit before its command finished'): Promise<void> {
    const run = this.#runs.get(id);
    if (!run) return;
    this.#end(run);
    run.masker.end();
    this.#options.log.warn('run aborted', { run: id, reason });
    await run.recording.abort(reason);
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/** One argument of the command as recorded: upstream secrets replaced, then the caller's content rules. */
function maskArgument(arg: string, content: ContentMasker, secrets: readonly string[]): string {
  let text = arg;
  for (const secret of secrets) if (secret.length >= MIN_SCRUBBED_LENGTH) text = text.split(secret).join(SECRET_REPLACEMENT);
  if (content.empty) return text;
  const masked = content.mask(text, new Map());
  return masked === undefined ? text : (masked ?? NULLED_LINE);
}
