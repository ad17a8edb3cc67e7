// The engine API, once: every method with its input schema, the role it needs and its handler,
// and every event with the role that receives it. Transports (HTTP + WebSocket in `sluice
// serve`, IPC in the desktop app) authenticate the caller and hand the call to `invokeApi`;
// nothing here knows which transport it is on. The renderer imports only types from here.
import { z } from 'zod';
import type { Approval, ApprovalBroker, ApprovalStatus } from '../approvals/approval-types.js';
import type { AuditReader, EventRecord, SessionMark, SessionProtocol, SessionRecord, SessionStatus } from '../audit/audit-types.js';
import { transcriptFrames, type TranscriptFrame } from '../common/transcript.js';
import type { EngineEventMap, EngineEventName } from '../engine/engine-events.js';
import type { AuthMethod, Identity } from '../identity/identity.js';
import { PreviewRulesError, type PreviewColumn, type PreviewResult } from '../masking/masking-preview.js';
import type { RunFinishResult, RunGrant, RunOutputResult, RunService } from '../run/run-service.js';
import { DEFAULT_RUN_TTL_MS, MAX_RUN_TTL_MS } from '../run/run-limits.js';
import { ApiFailure, type ApiResult } from './api-result.js';
import type { ApiRole } from './api-roles.js';

export type { Approval, ApprovalStatus } from '../approvals/approval-types.js';
export type { EventRecord, SessionMark, SessionProtocol, SessionQuery, SessionRecord } from '../audit/audit-types.js';
export type { TranscriptFrame } from '../common/transcript.js';
export type { ApiError, ApiErrorCode, ApiResult } from './api-result.js';
export type { ApiRole } from './api-roles.js';
export type { PreviewCell, PreviewResult } from '../masking/masking-preview.js';
export type { Decision, Effect, TraceStep } from '../policy/decision.js';
export type { RunFinishResult, RunGrant, RunOutputResult } from '../run/run-service.js';

/** What `policy.explain` asks: how policy would decide this statement for this caller. */
export interface ExplainInput {
  readonly identity: { readonly subject: string; readonly groups: readonly string[]; readonly claims: Readonly<Record<string, string | number | boolean>> };
  readonly resource: string;
  readonly sql: string;
  /** The session's search_path to resolve unqualified names with (default PostgreSQL's). */
  readonly searchPath?: string;
  /** The upstream user "$user" stands for (default the resource's upstream user). */
  readonly user?: string;
}

/** The engine parts the handlers use; the engine (or the desktop app's main process) supplies them. */
export interface ApiServices {
  readonly approvals: ApprovalBroker;
  readonly audit: Pick<AuditReader, 'listSessions' | 'getSession' | 'listEvents'>;
  /** Policy's explanation (a trace), injected so the API does not depend on how policy builds it. */
  readonly explain: (input: ExplainInput) => Promise<unknown>;
  /** A draft masking rule set applied to sample rows or a live query's first rows (throws PreviewRulesError for invalid rules). */
  readonly previewMasking: (request: MaskingPreviewRequest, caller: Identity) => Promise<PreviewResult>;
  /** The gateway's masking rules as configured, and saving them (absent: the engine has no config file to write). */
  readonly maskingConfig?: MaskingConfigService;
  /** Resources and policy as configured, without secrets. */
  readonly policyView: () => PolicyView;
  /** `sluice run`: session credentials and terminal recordings (absent: this engine does not host runs). */
  readonly runs?: RunService;
}

/** The masking section of the gateway's config file, read and written by the rule editor. */
export interface MaskingConfigService {
  current(): Promise<MaskingRulesView>;
  /**
   * Validates `rules` as the config's `masking:` section, writes the file atomically (the old one
   * kept as a backup), applies the rules to new sessions and records the change as an audit
   * event. Throws ApiFailure('invalid_input') naming the rule and field, and ApiFailure('conflict')
   * when `version` is given and the file is no longer that version.
   */
  save(rules: readonly unknown[], caller: Identity, version?: string): Promise<MaskingSaveResult>;
}

export interface MaskingRulesView {
  /** The rules as the config holds them (YAML's data model: what `rules` takes back). */
  readonly rules: readonly Readonly<Record<string, unknown>>[];
  /** The `masking:` section as YAML, as it stands in the file. */
  readonly yaml: string;
  /** The config file. */
  readonly file: string;
  /** sha256 of the file as read: `masking.save` given it refuses to overwrite a file changed since. */
  readonly version: string;
  /** Built-in detector names, for the editor's choices. */
  readonly detectors: readonly string[];
  readonly strategies: readonly string[];
}

export interface MaskingSaveResult extends MaskingRulesView {
  /** Where the previous file was kept. */
  readonly backup: string;
  /** The audit session the change is recorded in. */
  readonly auditSession: string;
  /** Sessions open at the save: they keep the rules they started with until they reconnect. */
  readonly openSessions: number;
}

/** A resource as the policy view shows it: never a credential. */
export interface ResourceView {
  readonly name: string;
  readonly type: string;
  /** The upstream without credentials (scheme, host, port, database or path). */
  readonly upstream: string;
  /** How the gateway authenticates upstream, in words (e.g. "password (held by Sluice)"). */
  readonly credential: string;
  readonly tls?: string;
}

export interface PolicyView {
  readonly resources: readonly ResourceView[];
  /** Policy rules as configured (match and effect), in order. */
  readonly rules: readonly Readonly<Record<string, unknown>>[];
  /** What applies when no rule matches. */
  readonly defaultEffect: 'deny';
  readonly roles: Readonly<Record<string, readonly string[]>>;
  readonly approvals: { readonly timeoutMs: number; readonly quorum: number; readonly selfApproval: boolean };
  readonly limits: Readonly<Record<string, unknown>>;
  /** Masking rules by name and scope only (the editor has the detail). */
  readonly masking: readonly { readonly name: string; readonly kind: 'columns' | 'detect'; readonly targets: readonly string[]; readonly strategy: string; readonly groups?: readonly string[]; readonly exceptGroups?: readonly string[] }[];
}

/** What `masking.preview` asks: draft rules, the groups to preview as, and rows: a sample, or a live query's first rows. */
export interface MaskingPreviewRequest {
  readonly rules: readonly unknown[];
  readonly groups?: readonly string[];
  readonly sample?: { readonly columns: readonly PreviewColumn[]; readonly rows: readonly (readonly (string | null)[])[] };
  readonly query?: { readonly resource: string; readonly sql: string; readonly limit?: number };
}

export interface ApiContext {
  /** The authenticated caller: for `approvals.decide`, the approver. */
  readonly identity: Identity;
  readonly roles: ReadonlySet<ApiRole>;
  readonly services: ApiServices;
  /** Where the call came from (address:port), when the transport knows. */
  readonly client?: string;
}

/** `any`: every authenticated caller, whatever their roles. */
export type ApiAccess = ApiRole | 'any';

export interface ApiMethod<S extends z.ZodType, O> {
  readonly role: ApiAccess;
  readonly summary: string;
  readonly input: S;
  readonly handler: (input: z.output<S>, ctx: ApiContext) => Promise<O>;
}

/** Keeps each table entry's own input and output types (a plain annotation would widen them). */
function method<S extends z.ZodType, O>(spec: ApiMethod<S, O>): ApiMethod<S, O> {
  return spec;
}

const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'expired', 'cancelled'] as const satisfies readonly ApprovalStatus[];
const SESSION_STATUS_VALUES = ['open', 'closed', 'aborted'] as const satisfies readonly SessionStatus[];
// These fail to compile when a status type gains a value its list lacks.
const _everyApprovalStatus: Exclude<ApprovalStatus, (typeof APPROVAL_STATUSES)[number]> extends never ? true : never = true;
const _everySessionStatus: Exclude<SessionStatus, (typeof SESSION_STATUS_VALUES)[number]> extends never ? true : never = true;

const SESSION_PROTOCOL_VALUES = ['postgres', 'http', 'exec', 'mcp'] as const satisfies readonly SessionProtocol[];
const SESSION_MARKS = ['denial', 'approval', 'masking', 'error'] as const satisfies readonly SessionMark[];
const _everySessionProtocol: Exclude<SessionProtocol, (typeof SESSION_PROTOCOL_VALUES)[number]> extends never ? true : never = true;
const epochMs = z.number({ error: 'expected a time (milliseconds since the epoch)' }).int('must be a whole number').min(0, 'must not be negative');

const id = (what: string) => z.string({ error: `expected ${what} (a string)` }).min(1, 'must not be empty').max(200, `is too long for ${what}`);
const limit = z
  .number({ error: 'expected a number' })
  .int('must be a whole number')
  .min(1, 'must be at least 1')
  .max(1_000, 'must be at most 1000');
const text = (what: string, max: number) => z.string({ error: `expected ${what} (a string)` }).max(max, `must be at most ${max} characters`);
const oneOf = <const T extends readonly [string, ...string[]]>(values: T) => z.enum(values, { error: `must be one of ${values.join(', ')}` });

/** Who the caller is, as the web console shows it and decides which screens to offer. */
export interface WhoAmI {
  readonly subject: string;
  readonly issuer: string;
  readonly method: AuthMethod;
  readonly groups: readonly string[];
  readonly roles: readonly ApiRole[];
  readonly expiresAt?: number;
}

export const API_METHODS = {
  'identity.whoami': method({
    role: 'any',
    summary: 'who the caller is and which roles they hold',
    input: z.strictObject({}),
    handler: async (_input, ctx): Promise<WhoAmI> => ({
      subject: ctx.identity.subject,
      issuer: ctx.identity.issuer,
      method: ctx.identity.method,
      groups: ctx.identity.groups,
      roles: [...ctx.roles],
      ...(ctx.identity.expiresAt !== undefined && { expiresAt: ctx.identity.expiresAt }),
    }),
  }),

  'approvals.list': method({
    role: 'approvers',
    summary: 'approvals, newest first (all statuses unless `status` is given)',
    input: z.strictObject({ status: oneOf(APPROVAL_STATUSES).optional(), limit: limit.optional() }),
    handler: async (input, ctx): Promise<Approval[]> => ctx.services.approvals.list(input),
  }),

  'approvals.get': method({
    role: 'approvers',
    summary: 'one approval with its votes',
    input: z.strictObject({ id: id('an approval id') }),
    handler: async (input, ctx): Promise<Approval> => {
      const approval = ctx.services.approvals.get(input.id);
      if (!approval) throw new ApiFailure('not_found', `there is no approval ${input.id}: it never existed or has left the history`);
      return approval;
    },
  }),

  'approvals.decide': method({
    role: 'approvers',
    summary: "the caller's vote on a pending approval (deny needs a reason; `session` grants the statement's fingerprint for the session)",
    input: z.strictObject({
      id: id('an approval id'),
      decision: oneOf(['approve', 'deny']),
      reason: text('a reason', 2_000).optional(),
      scope: oneOf(['once', 'session']).optional(),
    }),
    // The broker checks self-approval, quorum, duplicate votes and the deny reason.
    handler: async ({ id: approvalId, ...decision }, ctx): Promise<Approval> => ctx.services.approvals.decide(approvalId, ctx.identity, decision),
  }),

  'sessions.list': method({
    role: 'auditors',
    summary: 'recorded sessions, newest first',
    input: z.strictObject({
      limit: limit.optional(),
      resource: text('a resource name', 200).optional(),
      status: oneOf(SESSION_STATUS_VALUES).optional(),
      protocol: oneOf(SESSION_PROTOCOL_VALUES).optional(),
      identity: text('part of a subject', 500).optional(),
      since: epochMs.optional(),
      until: epochMs.optional(),
      had: z.array(oneOf(SESSION_MARKS), { error: 'expected a list of marks' }).max(SESSION_MARKS.length).optional(),
      search: text('text to find in statements', 500).optional(),
    }),
    handler: async (input, ctx): Promise<SessionRecord[]> => ctx.services.audit.listSessions(input),
  }),

  'sessions.get': method({
    role: 'auditors',
    summary: 'one recorded session',
    input: z.strictObject({ id: id('a session id') }),
    handler: async (input, ctx): Promise<SessionRecord> => {
      const session = await ctx.services.audit.getSession(input.id);
      if (!session) throw new ApiFailure('not_found', `there is no session ${input.id} in the audit store`);
      return session;
    },
  }),

  'sessions.events': method({
    role: 'auditors',
    summary: "one session's events in order",
    input: z.strictObject({ id: id('a session id') }),
    handler: async (input, ctx): Promise<EventRecord[]> => {
      const session = await ctx.services.audit.getSession(input.id);
      if (!session) throw new ApiFailure('not_found', `there is no session ${input.id} in the audit store`);
      return ctx.services.audit.listEvents(input.id);
    },
  }),

  'sessions.transcript': method({
    role: 'auditors',
    summary: 'one session as a psql-like transcript: timed frames of statements, decisions, approvals and results',
    input: z.strictObject({ id: id('a session id') }),
    handler: async (input, ctx): Promise<{ session: SessionRecord; frames: TranscriptFrame[] }> => {
      const session = await ctx.services.audit.getSession(input.id);
      if (!session) throw new ApiFailure('not_found', `there is no session ${input.id} in the audit store`);
      return { session, frames: transcriptFrames(session, await ctx.services.audit.listEvents(input.id)) };
    },
  }),

  'policy.explain': method({
    role: 'auditors',
    summary: 'how policy would decide a statement for a given caller and resource, with the trace',
    input: z.strictObject({
      identity: z.strictObject({
        subject: text('a subject', 500).min(1, 'must not be empty'),
        groups: z.array(text('a group', 500), { error: 'expected a list of groups' }).max(500, 'lists more than 500 groups'),
        claims: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()], { error: 'expected a string, number or boolean' })).optional(),
      }),
      resource: text('a resource name', 200).min(1, 'must not be empty'),
      sql: text('SQL text', 100_000).min(1, 'must not be empty'),
      searchPath: text('a search_path', 1_000).optional(),
      user: text('a user name', 200).optional(),
    }),
    handler: async (input, ctx): Promise<unknown> => ctx.services.explain({ ...input, identity: { ...input.identity, claims: input.identity.claims ?? {} } }),
  }),

  'masking.preview': method({
    role: 'admins',
    summary: 'a draft masking rule set applied to sample rows or to the first rows of a live query (one SELECT policy allows the caller): the masked rows and, per cell, the rules that fired',
    input: z
      .strictObject({
      rules: z.array(z.unknown(), { error: 'expected a list of masking rules (as in the config)' }).max(500, 'lists more than 500 rules'),
      groups: z.array(text('a group', 500), { error: 'expected a list of groups' }).max(500, 'lists more than 500 groups').optional(),
      sample: z.strictObject({
        columns: z
          .array(z.strictObject({ name: text('a column name', 200), sources: z.array(text('a source column (schema.table.column)', 500)).max(100).optional() }), { error: 'expected a list of columns' })
          .min(1, 'must list at least one column')
          .max(200, 'lists more than 200 columns'),
        rows: z.array(z.array(z.union([text('a value', 1_000_000), z.null()])).max(200), { error: 'expected a list of rows' }).max(1_000, 'holds more than 1000 rows'),
      }).optional(),
      query: z
        .strictObject({
          resource: text('a resource name', 200).min(1, 'must not be empty'),
          sql: text('SQL text', 100_000).min(1, 'must not be empty'),
          limit: limit.max(100, 'must be at most 100').optional(),
        })
        .optional(),
    })
      .refine((input) => (input.sample === undefined) !== (input.query === undefined), 'give either `sample` (rows) or `query` (a live SELECT), not both'),
    handler: async (input, ctx): Promise<PreviewResult> => {
      try {
        return await ctx.services.previewMasking(input, ctx.identity);
      } catch (error) {
        if (error instanceof PreviewRulesError) throw new ApiFailure('invalid_input', error.message);
        throw error;
      }
    },
  }),

  'masking.rules': method({
    role: 'admins',
    summary: "the gateway's masking rules as its config file holds them, with the YAML and the built-in detectors and strategies",
    input: z.strictObject({}),
    handler: async (_input, ctx): Promise<MaskingRulesView> => maskingConfig(ctx).current(),
  }),

  'masking.save': method({
    role: 'admins',
    summary: "replaces the config file's masking rules (validated, written atomically with a backup, applied to new sessions, recorded in the audit store)",
    input: z.strictObject({
      rules: z.array(z.unknown(), { error: 'expected a list of masking rules (as in the config)' }).max(500, 'lists more than 500 rules'),
      version: z.string({ error: 'expected the version `masking.rules` returned' }).regex(/^[0-9a-f]{64}$/, 'must be the version `masking.rules` returned').optional(),
    }),
    handler: async (input, ctx): Promise<MaskingSaveResult> => maskingConfig(ctx).save(input.rules, ctx.identity, input.version),
  }),

  'policy.view': method({
    role: 'auditors',
    summary: 'resources (without credentials), policy rules, roles, approval settings, limits and masking rules by name',
    input: z.strictObject({}),
    handler: async (_input, ctx): Promise<PolicyView> => ctx.services.policyView(),
  }),

  'runs.start': method({
    role: 'any',
    summary: '`sluice run`: a session credential for one command, and its terminal recording',
    input: z.strictObject({
      command: z.array(text('an argument', 4096), { error: 'expected the command as a list of arguments' }).min(1, 'must name a command').max(256, 'must have at most 256 arguments'),
      cols: z.number().int().min(1).max(1000).optional(),
      rows: z.number().int().min(1).max(1000).optional(),
      ttl_ms: z.number().int().min(1_000, 'must be at least 1000 (a second)').max(MAX_RUN_TTL_MS, `must be at most ${MAX_RUN_TTL_MS} (a day)`).optional(),
      host: text('a host name', 255).optional(),
    }),
    handler: async (input, ctx): Promise<RunGrant> =>
      runs(ctx).start(ctx.identity, {
        command: input.command,
        cols: input.cols ?? 80,
        rows: input.rows ?? 24,
        ttlMs: input.ttl_ms ?? DEFAULT_RUN_TTL_MS,
        application: input.host ? `sluice run on ${input.host}` : 'sluice run',
        clientAddress: ctx.client ?? 'local',
      }),
  }),

  'runs.output': method({
    role: 'any',
    summary: "a run's terminal output: masked, recorded, and echoed back masked when asked",
    input: z.strictObject({ run: id('a run id'), control: id('the run control key'), data: text('output', 1024 * 1024), echo: z.boolean().optional() }),
    handler: async (input, ctx): Promise<RunOutputResult> => runs(ctx).output(ctx.identity, input.run, input.control, input.data, input.echo ?? false),
  }),

  'runs.finish': method({
    role: 'any',
    summary: "a run's command ended: its exit recorded, its credential revoked",
    input: z.strictObject({
      run: id('a run id'),
      control: id('the run control key'),
      exit_code: z.number().int().min(0).max(255).nullable(),
      signal: text('a signal name', 32).nullable(),
      echo: z.boolean().optional(),
    }),
    handler: async (input, ctx): Promise<RunFinishResult> => runs(ctx).finish(ctx.identity, input.run, input.control, { exitCode: input.exit_code, signal: input.signal }, input.echo ?? false),
  }),
} as const;

function runs(ctx: ApiContext): RunService {
  const service = ctx.services.runs;
  if (!service) throw new ApiFailure('unavailable', 'this gateway does not host `sluice run` sessions');
  return service;
}

function maskingConfig(ctx: ApiContext): MaskingConfigService {
  const service = ctx.services.maskingConfig;
  if (!service) throw new ApiFailure('unavailable', 'this gateway was started without a config file, so its masking rules cannot be read or saved here');
  return service;
}

export type ApiMethods = typeof API_METHODS;
export type ApiMethodName = keyof ApiMethods;
export type ApiInput<N extends ApiMethodName> = z.input<ApiMethods[N]['input']>;
export type ApiOutput<N extends ApiMethodName> = Awaited<ReturnType<ApiMethods[N]['handler']>>;

export function isApiMethodName(name: string): name is ApiMethodName {
  return Object.hasOwn(API_METHODS, name);
}

/** Which role receives each engine event; a subscriber gets the events of every role they hold. */
export const API_EVENTS = {
  'approval.requested': 'approvers',
  'approval.decided': 'approvers',
  'session.started': 'auditors',
  'session.ended': 'auditors',
  'event.appended': 'auditors',
} as const satisfies Record<EngineEventName, ApiRole>;

export type ApiEventName = EngineEventName;

/** One event as a subscriber receives it (a WebSocket text frame, or an IPC message). */
export type ApiEventMessage = { [N in EngineEventName]: { readonly event: N; readonly payload: EngineEventMap[N] } }[EngineEventName];

/** What a UI talks to, whatever the transport (EngineClient implements it over IPC or HTTP + WebSocket). */
export interface ApiClient {
  call<N extends ApiMethodName>(method: N, input: ApiInput<N>): Promise<ApiResult<ApiOutput<N>>>;
  /** Returns an unsubscribe function. */
  subscribe(listener: (message: ApiEventMessage) => void): () => void;
}
