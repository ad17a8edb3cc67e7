import type { SessionMark } from '../../../../proxy/api/api-contract.js';
import type { TranscriptEvent } from '../../../../proxy/common/transcript.js';
import { positionOfSeq, type Timeline } from './timeline.js';
import { maskedCounts, record, str, strings, type Payload } from './payload-fields.js';

// The timeline's markers: where something an auditor looks for happened. The kinds are the
// session list's marks (SessionMark), so "had a denial" there and a denial marker here agree.
// What writes these payloads: proxy/postgres/statement-gate.ts (decision, limit: refused),
// result-limiter.ts (limit), client-session.ts (query, error), approvals/approval-rules.ts (approval).

export type MarkerKind = SessionMark;

export const MARKER_KINDS: readonly MarkerKind[] = ['denial', 'approval', 'error', 'masking'];

export interface Marker {
  readonly seq: number;
  /** The event's index in the session's event list. */
  readonly index: number;
  readonly kind: MarkerKind;
  readonly event: TranscriptEvent;
}

export interface PlacedMarker extends Marker {
  /** Where on the timeline (ms). */
  readonly position: number;
}

// A statement refused by the gateway (not by the server) ends with one of these: policy or an
// approver (42501), a cancel while held (57014). They are the denial's, not an error of their own.
const GATEWAY_REFUSALS = new Set(['42501', '57014']);

/**
 * Every marker of a session, in event order. Only kinds are worked out here (a long session has
 * tens of thousands of markers); their words come from markerLabel() when one is shown.
 */
export function findMarkers(events: readonly TranscriptEvent[]): Marker[] {
  // A decision that held a statement already says "approval requested": its `requested` event would repeat it.
  const announced = new Set<string>();
  for (const event of events) {
    if (event.kind === 'decision') {
      const approval = str(record(event.payload).approval);
      if (approval) announced.add(approval);
    }
  }
  const markers: Marker[] = [];
  for (let index = 0; index < events.length; index++) {
    const event = events[index]!;
    const kind = markOf(event, announced);
    if (kind) markers.push({ seq: event.seq, index, kind, event });
  }
  return markers;
}

/** The mark one event makes, if any; `announced`: approval ids a decision event names. */
export function markOf(event: TranscriptEvent, announced: ReadonlySet<string> = new Set()): MarkerKind | undefined {
  switch (event.kind) {
    case 'query': {
      const p = record(event.payload);
      const failed = p.outcome === 'error' || p.error !== undefined;
      // Most statements neither fail nor mask: the quick way out.
      if (!failed && p.masked === undefined) return undefined;
      if (failed && !refusedByGateway(p)) return 'error';
      return maskedCounts(p).length > 0 ? 'masking' : undefined;
    }
    case 'decision': {
      const effect = record(event.payload).effect;
      return effect === 'deny' ? 'denial' : effect === 'approve' ? 'approval' : undefined;
    }
    case 'approval': {
      const p = record(event.payload);
      const action = p.action;
      if (action === 'requested') return announced.has(str(p.id) ?? '') ? undefined : 'approval';
      // Votes and "executed" are details of the approval, shown in its panel.
      return action === 'approved' || action === 'denied' || action === 'expired' || action === 'cancelled' ? 'approval' : undefined;
    }
    case 'limit': {
      const action = record(event.payload).action;
      return action === 'held' || action === 'approved' ? 'approval' : 'denial';
    }
    case 'error':
      return 'error';
    default:
      return undefined;
  }
}

function refusedByGateway(p: Payload): boolean {
  const effect = record(p.decision).effect;
  return effect === 'deny' || (effect === 'approve' && GATEWAY_REFUSALS.has(str(record(p.error).code) ?? ''));
}

const labels = new WeakMap<TranscriptEvent, string>();

/** What a marker's event did, in a few words ("Denied by rule no-ddl"). */
export function markerLabel(marker: Marker): string {
  let label = labels.get(marker.event);
  if (label === undefined) labels.set(marker.event, (label = labelOf(marker.event)));
  return label;
}

const LIMIT_ACTIONS: Readonly<Record<string, string>> = {
  stopped: 'result stopped',
  denied: 'approval refused, result stopped',
  refused: 'statement refused',
  discarded: 'results dropped',
  held: 'result held for approval',
  approved: 'approved, the result went on',
};

function labelOf(event: TranscriptEvent): string {
  const p = record(event.payload);
  switch (event.kind) {
    case 'decision': {
      const rule = str(p.rule) ?? '?';
      if (p.effect === 'deny') return rule === 'masking' ? 'Denied by the masking guard' : `Denied by rule ${rule}`;
      const approval = str(p.approval);
      if (approval && p.granted_until !== undefined) return `Allowed under the session grant of approval ${approval}`;
      return `Approval requested (rule ${rule})`;
    }
    case 'approval': {
      const by = strings(p.by).join(', ');
      switch (str(p.action)) {
        case 'requested':
          return `Approval requested${str(p.rule) ? ` (rule ${str(p.rule)})` : ''}`;
        case 'approved':
          return `Approved${by ? ` by ${by}` : ''}`;
        case 'denied':
          return `Approval denied${by ? ` by ${by}` : ''}`;
        case 'expired':
          return 'Approval expired';
        default:
          return 'Approval cancelled';
      }
    }
    case 'limit': {
      const action = str(p.action) ?? 'hit';
      return `Limit ${str(p.limit) ?? '?'}: ${LIMIT_ACTIONS[action] ?? action}`;
    }
    case 'query': {
      const error = record(p.error);
      if ((p.outcome === 'error' || p.error !== undefined) && !refusedByGateway(p)) return `Error${str(error.code) ? ` ${str(error.code)}` : ''}: ${str(error.message) ?? 'the statement failed'}`;
      const masked = maskedCounts(p);
      const cells = masked.reduce((sum, [, count]) => sum + count, 0);
      return `Masked ${cells} cell${cells === 1 ? '' : 's'} (${masked.map(([rule]) => rule).join(', ')})`;
    }
    default: {
      const code = str(p.code);
      return `Error${code ? ` ${code}` : ''}: ${str(p.message) ?? 'unknown error'}`;
    }
  }
}

/** Markers with their place on this timeline (it changes with skip idle). */
export function placeMarkers(markers: readonly Marker[], timeline: Timeline): PlacedMarker[] {
  return markers.map((marker) => ({ seq: marker.seq, index: marker.index, kind: marker.kind, event: marker.event, position: timeline.at[marker.index] ?? positionOfSeq(timeline, marker.seq) }));
}

/**
 * The marker after (direction 1) or before (-1) the current place: `position`, and the marker
 * selected there (several can share a place: a statement masked and then failing).
 */
export function adjacentMarker(markers: readonly PlacedMarker[], position: number, selectedSeq: number | undefined, direction: 1 | -1, kinds?: ReadonlySet<MarkerKind>): PlacedMarker | undefined {
  // Markers are in event order, so by position too: find the first one past the current place by binary search.
  const after = (marker: PlacedMarker) => marker.position > position || (marker.position === position && selectedSeq !== undefined && marker.seq > selectedSeq);
  let low = 0;
  let high = markers.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (after(markers[mid]!)) high = mid;
    else low = mid + 1;
  }
  const eligible = (marker: PlacedMarker) => !kinds || kinds.has(marker.kind);
  if (direction > 0) {
    for (let i = low; i < markers.length; i++) if (eligible(markers[i]!)) return markers[i];
    return undefined;
  }
  // Before the first marker past the place: skip the one selected here (and any at this place after it).
  for (let i = low - 1; i >= 0; i--) {
    const marker = markers[i]!;
    const before = marker.position < position || (marker.position === position && selectedSeq !== undefined && marker.seq < selectedSeq);
    if (before && eligible(marker)) return marker;
  }
  return undefined;
}

export interface MarkerCluster {
  readonly kind: MarkerKind;
  /** 0..1 along the timeline. */
  readonly fraction: number;
  /** The markers drawn as this one (the first is the one a click selects). */
  readonly markers: readonly PlacedMarker[];
}

/**
 * Markers as drawn: one per kind per slot, so a session with thousands of masked results draws
 * a few hundred marks, not thousands of elements.
 */
export function clusterMarkers(markers: readonly PlacedMarker[], duration: number, slots = 200): MarkerCluster[] {
  const clusters = new Map<string, { kind: MarkerKind; fraction: number; markers: PlacedMarker[] }>();
  for (const marker of markers) {
    const fraction = duration > 0 ? Math.min(1, Math.max(0, marker.position / duration)) : 0;
    const slot = Math.round(fraction * slots);
    const key = `${marker.kind}:${slot}`;
    const cluster = clusters.get(key);
    if (cluster) cluster.markers.push(marker);
    else clusters.set(key, { kind: marker.kind, fraction, markers: [marker] });
  }
  return [...clusters.values()];
}

/** How many markers of each kind (the legend). */
export function countMarkers(markers: readonly Pick<Marker, 'kind'>[]): Record<MarkerKind, number> {
  const counts: Record<MarkerKind, number> = { denial: 0, approval: 0, error: 0, masking: 0 };
  for (const marker of markers) counts[marker.kind]++;
  return counts;
}

/** The seq numbers of an event list are 1, 2, 3, …; this finds one even when they are not. */
export function eventBySeq<E extends { readonly seq: number }>(events: readonly E[], seq: number): E | undefined {
  const guess = events[seq - 1];
  if (guess?.seq === seq) return guess;
  let low = 0;
  let high = events.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    const at = events[mid]!.seq;
    if (at === seq) return events[mid];
    if (at < seq) low = mid + 1;
    else high = mid - 1;
  }
  return undefined;
}
