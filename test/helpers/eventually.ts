/**
 * Retries `check` until it stops throwing (or `timeoutMs` passes, then rethrows its last error):
 * for state another process or connection reaches a moment later, like a session's end.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
