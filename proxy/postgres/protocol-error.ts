/**
 * Bytes a peer sent that break the protocol (bad length, oversized, unexpected message). The
 * session answers with an ErrorResponse carrying `sqlstate` and closes: there is no way to
 * resynchronise a byte stream once framing is lost.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError';

  constructor(
    message: string,
    /** 08P01 protocol_violation unless a more precise code applies. */
    readonly sqlstate = '08P01',
  ) {
    super(message);
  }
}
