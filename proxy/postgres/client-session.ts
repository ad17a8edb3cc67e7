import type { Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import type { ApprovalBroker } from '../approvals/approval-types.js';
import type { AuditStore, SessionCounters, SessionStart } from '../audit/audit-types.js';
import type { LimitsConfig } from '../config/schema.js';
import { limitsFor, limitsResults } from '../limits/caller-limits.js';
import { StatementRate } from '../limits/statement-rate.js';
import type { Logger } from '../engine/logger.js';
import { isAuthError, type AuthError } from '../identity/auth-error.js';
import type { Authenticator } from '../identity/authenticator.js';
import type { Identity } from '../identity/identity.js';
import { authenticationCleartextPassword, authenticationOk, backendKeyData, errorResponse, negotiateProtocolVersion } from './backend-writer.js';
import { sendCancel, type CancelRegistry } from './cancel-registry.js';
import { decodePassword } from './frontend-decode.js';
import { FrontendCode, describeCode } from './message-codes.js';
import { LOGIN_LIMITS, type MessageReader, type ReaderLimits } from './message-reader.js';
import { ProtocolError } from './protocol-error.js';
import { SessionRelay, type RelayEnd } from './session-relay.js';
import { negotiateStartup } from './startup-negotiation.js';
import { StatementJudge, type Gatekeeping } from './statement-judge.js';
import { StatementLog, type StatementRecord } from './statement-log.js';
import { GATEWAY_RULES } from '../policy/gateway-decisions.js';
import { MaskedFlowGuard } from './masked-flow-guard.js';
import { ResultMasker, type SampleLimits } from './result-masker.js';
import { ResultLimiter } from './result-limiter.js';
import type { CatalogCache } from '../masking/catalog-types.js';
import type { MaskingRules } from '../masking/masking-rules.js';
import { maskedForRecord } from '../masking/record-text.js';
import { connectUpstream, UpstreamError, type UpstreamConnection, type UpstreamTarget } from './upstream-connect.js';

/** What every client session of one listener shares. */
export interface SessionContext {
  readonly authenticator: Authenticator;
  /** Upstream targets by resource name (postgres resources only). */
  readonly resources: ReadonlyMap<string, UpstreamTarget>;
  /** The resources an identity may use; a name outside this list is "unknown" to that caller. */
  readonly resourcesFor: (identity: Identity) => readonly string[];
  readonly store: AuditStore;
  /** audit.durability strict: a statement completes for its client only once its record is committed. */
  readonly strictAudit: boolean;
  /** Classification and policy for every statement. */
  readonly gatekeeping: Gatekeeping;
  readonly approvals: ApprovalBroker;
  /** Masking rules, each PostgreSQL resource's catalog, and how much of each result the record keeps. */
  readonly masking: { readonly rules: MaskingRules; readonly catalogs: ReadonlyMap<string, CatalogCache>; readonly sample: SampleLimits };
  /** Result and rate limits, resolved per caller's groups. */
  readonly limits: LimitsConfig;
  readonly cancels: CancelRegistry;
  readonly log: Logger;
  readonly tls: SecureContext | undefined;
  /** Refuse passwords over plaintext (a non-loopback listener without allow_cleartext_without_tls). */
  readonly requireTls: boolean;
  readonly clientLimits: ReaderLimits;
  readonly upstreamLimits: ReaderLimits;
  /** Live relays, so shutdown can close them. */
  readonly live: Set<SessionRelay>;
}

/** PostgreSQL's authentication_timeout: a connection must finish logging in within this. */
const LOGIN_TIMEOUT_MS = 30_000;

// Startup parameters the gateway decides itself rather than passing upstream.
const GATEWAY_PARAMETERS = new Set(['user', 'database', 'replication']);

/** Serves one client connection from its first byte to its close. Never throws. */
export async function serveClient(raw: Socket, ctx: SessionContext): Promise<void> {
  const clientAddress = `${raw.remoteAddress ?? 'unknown'}:${raw.remotePort ?? 0}`;
  raw.setNoDelay(true);
  raw.on('error', () => {});
  const timer = setTimeout(() => raw.destroy(), LOGIN_TIMEOUT_MS);
  let socket: Socket = raw;
  try {
    const startup = await negotiateStartup(raw, {
      tls: ctx.tls,
      limits: LOGIN_LIMITS,
      onCancel: (processId, secretKey) => {
        raw.destroy();
        const route = ctx.cancels.route(processId, secretKey);
        if (route === 'unknown') ctx.log.warn('cancel request with an unknown key ignored', { client: clientAddress });
        else if (route !== 'handled') void sendCancel(route);
      },
      onSocket: (secure) => {
        socket = secure;
        socket.on('error', () => {});
      },
    });
    if (!startup) return;
    const { parameters, queue } = startup;
    if (parameters.has('replication')) throw new LoginRefusal('0A000', 'replication connections are not supported through Sluice');
    const unsupported = [...parameters.keys()].filter((name) => name.startsWith('_pq_.'));
    if (startup.minor > 0 || unsupported.length > 0) socket.write(negotiateProtocolVersion(unsupported));
    if (ctx.requireTls && !startup.tls) {
      throw new LoginRefusal('28000', 'this Sluice listener accepts credentials only over TLS', 'connect with sslmode=require (or verify-full)');
    }

    socket.write(authenticationCleartextPassword());
    const reply = await queue.next();
    if (reply.code !== FrontendCode.Password) throw new ProtocolError(`expected a password message, got ${describeCode(reply.code)}`);
    const identity = await authenticate(ctx, decodePassword(reply), clientAddress);
    queue.reader.useLimits(ctx.clientLimits);

    const resourceName = parameters.get('database') ?? parameters.get('user') ?? '';
    const allowed = ctx.resourcesFor(identity);
    const target = ctx.resources.get(resourceName);
    if (!target || !allowed.includes(resourceName)) {
      throw new LoginRefusal('3D000', `resource "${resourceName}" does not exist or you may not use it`, allowed.length > 0 ? `your resources: ${allowed.join(', ')}` : 'no PostgreSQL resource is open to you; ask an administrator');
    }
    if (ctx.store.failure) throw new LoginRefusal('58030', 'the audit store is failing, so Sluice refuses sessions it cannot record', 'an operator must check the gateway log');

    const forwarded = Object.fromEntries([...parameters].filter(([name]) => !GATEWAY_PARAMETERS.has(name) && !name.startsWith('_pq_.')));
    const application = parameters.get('application_name') ?? null;
    const upstream = await connectUpstream(target, forwarded, ctx.upstreamLimits).catch((error: unknown) => {
      if (error instanceof UpstreamError) {
        ctx.log.error('upstream login failed', { resource: resourceName, reason: error.message });
        // A known caller was turned away: that belongs in the audit trail, not only the log.
        const recording = ctx.store.beginSession(sessionStart(identity, resourceName, clientAddress, application));
        void recording.event('error', { source: 'upstream', code: error.sqlstate, message: error.message });
        void recording.end('aborted', { statements: 0, errors: 1, rows: 0 });
        throw new LoginRefusal(error.sqlstate, error.message);
      }
      throw error;
    });
    clearTimeout(timer);
    if (socket.destroyed) {
      // The client gave up while the upstream login was under way.
      upstream.socket.destroy();
      return;
    }
    startRelay({ ctx, socket, reader: queue.detach(), upstream, identity, resourceName, clientAddress, application, target });
  } catch (error) {
    clearTimeout(timer);
    refuse(socket, ctx, clientAddress, error);
  }
}

function startRelay(args: {
  ctx: SessionContext;
  socket: Socket;
  reader: MessageReader;
  upstream: UpstreamConnection;
  identity: Identity;
  resourceName: string;
  clientAddress: string;
  application: string | null;
  target: UpstreamTarget;
}): void {
  const { ctx, socket, upstream, identity, resourceName, target } = args;
  const recording = ctx.store.beginSession(sessionStart(identity, resourceName, args.clientAddress, args.application));
  const counters: SessionCounters = { statements: 0, errors: 0, rows: 0 };
  const masking = ctx.masking.rules.profileFor(identity.groups);
  const forRecord = (text: string) => maskedForRecord(masking.content, text);
  const cancelTarget = { host: target.host, port: target.port, processId: upstream.processId, secretKey: upstream.secretKey };
  // `relay` is declared below; a cancel cannot arrive before the client has the key.
  const cancelKey = ctx.cancels.register(cancelTarget, () => relay.cancelHeld());
  let uncommitted: Promise<void> | undefined;
  const log = new StatementLog((statement) => {
    counters.statements++;
    counters.rows += statement.rows;
    if (statement.outcome === 'error') counters.errors++;
    const committed = recording.event('query', masking.content.empty ? statement : recordedStatement(statement, forRecord));
    // A statement refused because the store cannot record never ran: its record need not be waited for.
    if (ctx.strictAudit && statement.decision?.rule !== GATEWAY_RULES.auditStore) uncommitted = committed;
  });
  const catalog = ctx.masking.catalogs.get(resourceName);
  if (!catalog) throw new Error(`no catalog for resource "${resourceName}"`);
  const parameters = new Map(upstream.parameters);
  const requester = { subject: identity.subject, issuer: identity.issuer, method: identity.method, groups: identity.groups, claims: identity.claims };
  const limits = limitsFor(ctx.limits, identity.groups);
  // Callers without result limits pay nothing: no limiter sees their frames.
  const limiter =
    limits && limitsResults(limits)
      ? new ResultLimiter({
          limits,
          sessionId: recording.id,
          resource: resourceName,
          requester,
          approvals: ctx.approvals,
          recording,
          forRecord,
          fingerprint: (text) => ctx.gatekeeping.classifier.fingerprint(text),
          running: () => log.current(),
          cancelUpstream: () => sendCancel(cancelTarget),
        })
      : undefined;
  const relay: SessionRelay = new SessionRelay(
    { socket, reader: args.reader },
    { socket: upstream.socket, reader: upstream.reader },
    {
      resource: resourceName,
      log,
      parameters,
      results: new ResultMasker(masking, catalog, ctx.masking.sample, resourceName, parameters),
      // Batches commit in order: the last statement's commit covers everything recorded before it.
      barrier: ctx.strictAudit
        ? {
            take() {
              const until = uncommitted;
              uncommitted = undefined;
              return until;
            },
          }
        : undefined,
      limiter,
      gate: {
        sessionId: recording.id,
        resource: resourceName,
        requester,
        judge: new StatementJudge(ctx.gatekeeping, identity, resourceName, target.user, parameters, new MaskedFlowGuard(masking, catalog, resourceName)),
        approvals: ctx.approvals,
        recording,
        forRecord,
        storeFailure: () => ctx.store.failure,
        ...(limits?.limits.statements_per_minute
          ? { rate: { counter: new StatementRate(limits.limits.statements_per_minute.value), source: limits.limits.statements_per_minute.source } }
          : {}),
      },
      onAbandoned: () => void sendCancel(cancelTarget),
      onEnd: (end: RelayEnd) => {
        ctx.live.delete(relay);
        cancelKey.release();
        log.abandon();
        if (end.status === 'aborted') void recording.event('error', { source: end.source, code: end.sqlstate, message: end.reason });
        void recording.end(end.status, counters);
        ctx.log.info('session ended', { session: recording.id, resource: resourceName, subject: identity.subject, reason: end.reason, statements: counters.statements });
      },
    },
  );
  ctx.live.add(relay);
  // The client sees the upstream's own ParameterStatus and ReadyForQuery bytes, but the
  // gateway's authentication and cancel key.
  socket.cork();
  socket.write(authenticationOk());
  for (const frame of upstream.parameterFrames) socket.write(frame.buffer.subarray(frame.start, frame.end));
  socket.write(backendKeyData(cancelKey.processId, cancelKey.secretKey));
  socket.write(upstream.readyFrame.buffer.subarray(upstream.readyFrame.start, upstream.readyFrame.end));
  socket.uncork();
  ctx.log.info('session started', { session: recording.id, resource: resourceName, subject: identity.subject, client: args.clientAddress });
  relay.start();
}

/** A statement's record with content detectors applied to everything the caller typed or the server said. */
function recordedStatement(statement: StatementRecord, forRecord: (text: string) => string): StatementRecord {
  return {
    ...statement,
    text: forRecord(statement.text),
    ...(statement.params ? { params: statement.params.map((param) => (param === null ? null : forRecord(param))) } : {}),
    ...(statement.error ? { error: { code: statement.error.code, message: forRecord(statement.error.message) } } : {}),
  };
}

function sessionStart(identity: Identity, resource: string, clientAddress: string, application: string | null): SessionStart {
  return {
    resource,
    protocol: 'postgres',
    identity: { subject: identity.subject, issuer: identity.issuer, method: identity.method, groups: identity.groups },
    clientAddress,
    application,
    ...(identity.run !== undefined && { run: identity.run }),
  };
}

async function authenticate(ctx: SessionContext, credential: string, clientAddress: string): Promise<Identity> {
  try {
    return await ctx.authenticator.authenticate(credential);
  } catch (error) {
    if (!isAuthError(error)) throw error;
    ctx.log.warn('authentication refused', { client: clientAddress, code: error.code, reason: error.message });
    throw authRefusal(error);
  }
}

function authRefusal(error: AuthError): LoginRefusal {
  if (error.code === 'issuer_unreachable') {
    return new LoginRefusal('08004', 'the identity provider cannot be reached to verify your token', 'try again in a moment');
  }
  // 28P01 is what drivers map to "wrong password"; the reason says which check failed, never the credential.
  return new LoginRefusal('28P01', `authentication failed: ${error.message}`);
}

/** A login the gateway refuses, with the SQLSTATE and words the client sees. */
class LoginRefusal extends Error {
  constructor(
    readonly sqlstate: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

function refuse(socket: Socket, ctx: SessionContext, clientAddress: string, error: unknown): void {
  if (socket.destroyed) return;
  let fields: { code: string; message: string; hint?: string };
  if (error instanceof LoginRefusal) {
    fields = { code: error.sqlstate, message: error.message, ...(error.hint ? { hint: error.hint } : {}) };
  } else if (error instanceof ProtocolError) {
    fields = { code: error.sqlstate, message: error.message };
    ctx.log.warn('client broke the protocol during login', { client: clientAddress, reason: error.message });
  } else {
    // A closed socket mid-login lands here too; there is nobody left to tell.
    fields = { code: 'XX000', message: 'internal error in the gateway during login' };
    ctx.log.error('login failed', { client: clientAddress, reason: (error as Error).message });
  }
  socket.end(errorResponse({ severity: 'FATAL', ...fields }));
}
