// The approver's token lives in sessionStorage: gone when the tab closes, never in a URL,
// a cookie or localStorage.

const KEY = 'sluice.token';

export function storedToken(): string | undefined {
  try {
    return globalThis.sessionStorage.getItem(KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string): void {
  globalThis.sessionStorage.setItem(KEY, token);
}

export function forgetToken(): void {
  globalThis.sessionStorage.removeItem(KEY);
}
