/**
 * A session's result masking failed in a way that must end the session rather than let a value
 * through unmasked. Its message is for the client.
 */
export class MaskingFailure extends Error {
  override readonly name = 'MaskingFailure';

  constructor(
    message: string,
    readonly sqlstate = '58000',
  ) {
    super(message);
  }
}
