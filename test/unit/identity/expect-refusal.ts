import { expect } from 'vitest';
import { AuthError, type AuthErrorCode } from '../../../proxy/identity/auth-error.js';

/**
 * Awaits a verification that must fail and returns its AuthError, checking the code and that
 * the message never repeats the credential.
 */
export async function expectRefusal(attempt: Promise<unknown>, code: AuthErrorCode, credential?: string): Promise<AuthError> {
  let caught: unknown;
  try {
    await attempt;
  } catch (error) {
    caught = error;
  }
  if (caught === undefined) throw new Error(`expected a refusal with code ${code}, but the credential was accepted`);
  expect(caught).toBeInstanceOf(AuthError);
  const error = caught as AuthError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  if (credential) expect(error.message).not.toContain(credential);
  return error;
}
