import { z } from 'zod';

// The messages of `sluice exec` over its WebSocket (/api/v1/exec on the api listener), JSON text
// frames both ways. The client opens with `start`; the gateway answers `held` (waiting for
// approvers) and/or `started`, then `output` as the command writes, and ends with `exit` or
// `error`, then closes. See docs/exec.md.

export const EXEC_PATH = '/api/v1/exec';

/** Caps: what a client sends is small; anything larger is refused, not truncated. */
export const MAX_ARGS = 256;
export const MAX_ARG_CHARS = 8_192;
export const MAX_INPUT_CHARS = 64 * 1024;
/** The largest frame a client may send (an input message at its cap, JSON-escaped). */
export const MAX_CLIENT_FRAME = 512 * 1024;

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGKILL'] as const;
const size = z.number({ error: 'expected a terminal size' }).int('must be a whole number').min(1, 'must be at least 1').max(10_000, 'must be at most 10000');
// eslint-disable-next-line no-control-regex -- a NUL cannot be passed in an argv string
const argument = z.string({ error: 'expected an argument (a string)' }).max(MAX_ARG_CHARS, `must be at most ${MAX_ARG_CHARS} characters`).regex(/^[^\u0000]*$/, 'must not hold a NUL character');

export const clientMessageSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({
      type: z.literal('start'),
      resource: z.string({ error: 'expected a resource name' }).min(1, 'must not be empty').max(200, 'is too long for a resource name'),
      args: z.array(argument, { error: 'expected a list of arguments' }).max(MAX_ARGS, `must be at most ${MAX_ARGS} arguments`),
      /** A pseudo-terminal (the client is on a terminal), else pipes (stdout and stderr apart). */
      pty: z.boolean({ error: 'expected true or false' }),
      cols: size.optional(),
      rows: size.optional(),
      term: z.string().regex(/^[A-Za-z0-9._+-]{1,64}$/, 'must be a terminal type like xterm-256color').optional(),
    }),
    z.strictObject({ type: z.literal('input'), data: z.string().max(MAX_INPUT_CHARS, `must be at most ${MAX_INPUT_CHARS} characters`) }),
    z.strictObject({ type: z.literal('resize'), cols: size, rows: size }),
    z.strictObject({ type: z.literal('eof') }),
    z.strictObject({ type: z.literal('signal'), signal: z.enum(SIGNALS, { error: `must be one of ${SIGNALS.join(', ')}` }) }),
  ],
  { error: 'expected a message with type start, input, resize, eof or signal' },
);

export type ClientMessage = z.output<typeof clientMessageSchema>;

export type ExecErrorCode = 'invalid_input' | 'not_found' | 'denied' | 'unavailable' | 'internal';

export type ServerMessage =
  | { readonly type: 'held'; readonly approval: string; readonly message: string }
  | { readonly type: 'started'; readonly session: string }
  | { readonly type: 'output'; readonly stream: 'stdout' | 'stderr' | 'pty'; readonly data: string }
  | { readonly type: 'exit'; readonly session: string; readonly exitCode: number | null; readonly signal: string | null }
  | { readonly type: 'error'; readonly code: ExecErrorCode; readonly message: string; readonly session?: string };

/** A client frame read: the message, or why it is not one (words for the client). */
export function parseClientMessage(text: string): { ok: true; message: ClientMessage } | { ok: false; message: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, message: 'the message is not JSON' };
  }
  const parsed = clientMessageSchema.safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issue = parsed.error.issues[0];
  return { ok: false, message: `${issue?.path.length ? `${issue.path.join('.')}: ` : ''}${issue?.message ?? 'not a valid message'}` };
}
