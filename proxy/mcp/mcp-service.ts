import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Identity } from '../identity/identity.js';
import type { McpDeps } from './mcp-deps.js';
import { McpSession, type SessionClient } from './mcp-session.js';
import { createMcpServer } from './mcp-tools.js';

// The engine's MCP gateway: one McpSession + McpServer per MCP session, whatever carries it (the
// api listener's /mcp over Streamable HTTP, or `sluice mcp` over stdio in this process). Sessions
// idle past IDLE_MS are closed (credential revoked, record sealed).

const IDLE_MS = 30 * 60_000;
/** MCP sessions open at once; more are refused until some end. */
export const MAX_SESSIONS = 1_000;

export interface ServedSession {
  readonly session: McpSession;
  readonly server: McpServer;
  readonly transport: Transport;
}

export class McpService {
  readonly #deps: McpDeps;
  readonly #sessions = new Set<ServedSession>();
  readonly #sweep: NodeJS.Timeout;
  #closing: Promise<void> | undefined;

  constructor(deps: McpDeps) {
    this.#deps = deps;
    this.#sweep = setInterval(() => this.#closeIdle(), 60_000);
    this.#sweep.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  get full(): boolean {
    return this.#sessions.size >= MAX_SESSIONS;
  }

  /** Serves a new session for `identity` over `transport` (started by connect); it ends when the transport closes. */
  async serve(identity: Identity, client: SessionClient, transport: Transport): Promise<ServedSession> {
    if (this.#closing) throw new Error('the gateway is stopping');
    const session = new McpSession(this.#deps, identity, client);
    const server = createMcpServer(this.#deps, session);
    const served: ServedSession = { session, server, transport };
    this.#sessions.add(served);
    // connect() takes over the transport's onclose: ours runs after the SDK's.
    await server.connect(transport);
    const sdkClose = transport.onclose;
    transport.onclose = () => {
      sdkClose?.();
      this.#sessions.delete(served);
      void session.close();
    };
    this.#deps.log.info('mcp session started', { session: session.recording.id, subject: identity.subject, client: client.address });
    return served;
  }

  /** The gateway stops: every session ends (its transport closed, its record sealed). */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#sweep);
      const open = [...this.#sessions];
      this.#sessions.clear();
      await Promise.all(
        open.map(async (served) => {
          await served.server.close().catch(() => undefined);
          await served.session.close();
        }),
      );
    })();
    return this.#closing;
  }

  #closeIdle(): void {
    const cutoff = Date.now() - IDLE_MS;
    for (const served of this.#sessions) {
      if (served.session.lastUsed >= cutoff) continue;
      this.#deps.log.info('mcp session idle; closing', { session: served.session.recording.id });
      this.#sessions.delete(served);
      void served.server.close().catch(() => undefined);
      void served.session.close();
    }
  }
}
