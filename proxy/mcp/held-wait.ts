// A call the gateway may hold for approval: wait for its outcome, telling the agent (progress
// notifications) while a person decides, up to `waitMs`; past that the call stays held and the
// agent gets "pending" to poll with approval_status.

export type Outcome<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export type HeldWait<T> = ({ readonly state: 'settled' } & Outcome<T>) | { readonly state: 'pending'; readonly approval: string };

/** Settles, never rejects. */
export function settle<T>(promise: Promise<T>): Promise<Outcome<T>> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

export async function waitWhileHeld<T>(
  settled: Promise<Outcome<T>>,
  held: Promise<string>,
  waitMs: number,
  progress: (approval: string, step: number) => Promise<void>,
  intervalMs = 2_000,
): Promise<HeldWait<T>> {
  const first = await Promise.race([settled, held.then((approval) => ({ approval }))]);
  if (!('approval' in first)) return { state: 'settled', ...first };
  const { approval } = first;
  const deadline = Date.now() + waitMs;
  for (let step = 1; ; step++) {
    // A client that stopped listening does not change what the gateway holds.
    await progress(approval, step).catch(() => undefined);
    const remaining = deadline - Date.now();
    if (remaining <= 0) return { state: 'pending', approval };
    let timer: NodeJS.Timeout | undefined;
    const tick = new Promise<'tick'>((resolve) => (timer = setTimeout(resolve, Math.min(intervalMs, remaining), 'tick')));
    const outcome = await Promise.race([settled, tick]);
    clearTimeout(timer);
    if (outcome !== 'tick') return { state: 'settled', ...outcome };
  }
}
