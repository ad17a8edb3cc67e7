// What every engine API call answers, over any transport (Signal-Desktop's shape): a value, or an
// error with a code clients branch on and a message people read. Type-only for the renderer.

export type ApiErrorCode = 'unauthenticated' | 'forbidden' | 'invalid_input' | 'not_found' | 'conflict' | 'unavailable' | 'internal';

export const API_ERROR_CODES: readonly ApiErrorCode[] = ['unauthenticated', 'forbidden', 'invalid_input', 'not_found', 'conflict', 'unavailable', 'internal'];

export interface ApiError {
  readonly code: ApiErrorCode;
  /** Says what happened and what to do; never internals or secrets. */
  readonly message: string;
}

export type ApiResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: ApiError };

/** Thrown by handlers (and the dispatcher) to answer with this error rather than `internal`. */
export class ApiFailure extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }

  toError(): ApiError {
    return { code: this.code, message: this.message };
  }
}

export function failed(code: ApiErrorCode, message: string): { readonly ok: false; readonly error: ApiError } {
  return { ok: false, error: { code, message } };
}
