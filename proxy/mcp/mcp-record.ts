import type { McpSession } from './mcp-session.js';

// What an MCP session's audit session holds (protocol mcp), read back by proxy/common/transcript.ts:
//   connect                              the store's own (identity, client, application)
//   tool_call    call, tool, arguments   arguments as the caller's content rules mask them, upstream secrets replaced
//   tool_result  call, tool, outcome     ok | error | pending_approval, with counts, a masked sample or the error
//   notice       channel mcp, action link, session   a PostgreSQL or HTTP session the MCP session opened
//   disconnect                           the store's seal
// Results are recorded as they came from the gateway (already masked there); the full record of
// each statement or request is in the linked session.

export function recordCall(session: McpSession, call: number, tool: string, args: Readonly<Record<string, unknown>>): void {
  void session.recording.event('tool_call', { channel: 'mcp', call, tool, arguments: maskValue(session, args) });
}

export function recordResult(session: McpSession, call: number, tool: string, result: Readonly<Record<string, unknown>>): void {
  void session.recording.event('tool_result', { channel: 'mcp', call, tool, ...(maskValue(session, result) as Record<string, unknown>) });
}

/** A string as it may be recorded (see McpSession.mask). */
export function maskForRecord(session: McpSession, text: string): string {
  return session.mask(text);
}

function maskValue(session: McpSession, value: unknown): unknown {
  if (typeof value === 'string') return maskForRecord(session, value);
  if (Array.isArray(value)) return value.map((item) => maskValue(session, item));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, maskValue(session, item)]));
  return value;
}
