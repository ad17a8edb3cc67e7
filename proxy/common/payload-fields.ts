// Reading recorded event payloads (plain JSON from the store or a bundle) without trusting their
// shape: each reader takes what it expects and treats anything else as absent.

export type Payload = Readonly<Record<string, unknown>>;

/** An object, else an empty one. */
export function record(value: unknown): Payload {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Payload) : {};
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A finite number, else undefined. */
export function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
