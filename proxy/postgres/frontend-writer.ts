import { cstring } from './cstring.js';
import { StartupCode } from './message-codes.js';

/**
 * The StartupMessage the gateway sends upstream: exactly the parameters given, once each.
 * (pg-protocol's serializer appends its own client_encoding, which would override the client's.)
 */
export function startupMessage(parameters: Readonly<Record<string, string>>): Buffer {
  const body = Buffer.concat([...Object.entries(parameters).flatMap(([name, value]) => [cstring(name), cstring(value)]), Buffer.from([0])]);
  const out = Buffer.allocUnsafe(8 + body.length);
  out.writeInt32BE(8 + body.length, 0);
  out.writeInt32BE(StartupCode.Protocol3, 4);
  body.copy(out, 8);
  return out;
}
