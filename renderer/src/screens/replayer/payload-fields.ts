// Recorded payloads come from older versions and other protocols: the replayer reads every field
// defensively (as proxy/common/transcript.ts does) and never throws on what it does not know.

import { record, type Payload } from '../../../../proxy/common/payload-fields.js';

export { num, record, str, type Payload } from '../../../../proxy/common/payload-fields.js';

export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function strings(value: unknown): string[] {
  return list(value).filter((item): item is string => typeof item === 'string');
}

/** A query payload's masked cells per rule (only numeric counts). */
export function maskedCounts(payload: Payload): [string, number][] {
  return Object.entries(record(payload.masked)).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && entry[1] > 0);
}
