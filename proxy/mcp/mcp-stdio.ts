import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Engine } from '../engine/engine.js';

// `sluice mcp` over stdio, for agents that launch a local command. Stdout carries only the
// protocol; everything else goes to stderr. Two ways to serve it:
//  - bridge: each JSON-RPC message is passed to a running gateway's /mcp (Streamable HTTP) with
//    the caller's credential, and back; the gateway holds the session.
//  - embedded: an engine in this process serves the session itself (`--config FILE`).

/** Resolves when the agent closes stdin (or the gateway ends the session). */
export function bridgeStdio(url: URL, credential: string, stdio: Transport = new StdioServerTransport()): Promise<void> {
  const remote = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${credential}` } } });
  return pipe(stdio, remote);
}

/** Serves one MCP session for `credential` from an engine in this process; resolves when stdin closes. */
export async function serveStdio(engine: Engine, credential: string, stdio: Transport = new StdioServerTransport()): Promise<void> {
  const identity = await engine.authenticate(credential);
  const ended = new Promise<void>((resolve) => {
    process.stdin.once('end', () => void stdio.close().finally(resolve));
  });
  const served = await engine.mcp.serve(identity, { address: 'stdio', application: 'sluice mcp' }, stdio);
  const close = stdio.onclose;
  await Promise.race([
    ended,
    new Promise<void>((resolve) => {
      stdio.onclose = () => {
        close?.();
        resolve();
      };
    }),
  ]);
  await served.session.close();
}

async function pipe(local: Transport, remote: Transport): Promise<void> {
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const fail = (error: Error) => process.stderr.write(`sluice mcp: ${error.message}\n`);
  local.onmessage = (message) => void remote.send(message).catch((error: unknown) => {
    fail(error as Error);
    // A request the gateway never got still needs an answer, or the agent waits forever.
    if ('id' in message && 'method' in message) void local.send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: `the gateway did not take the request: ${(error as Error).message}` } });
  });
  remote.onmessage = (message) => void local.send(message).catch(fail);
  local.onclose = () => {
    void remote.close().finally(done);
  };
  remote.onclose = () => {
    void local.close().finally(done);
  };
  remote.onerror = fail;
  local.onerror = fail;
  await remote.start();
  await local.start();
  process.stdin.once('end', () => void local.close());
  await finished;
  // A Streamable HTTP session is ended with DELETE, so the gateway seals it at once.
  await (remote as StreamableHTTPClientTransport).terminateSession?.().catch(() => undefined);
}
