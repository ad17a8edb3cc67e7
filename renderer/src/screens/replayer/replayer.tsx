import type { ReactNode } from 'react';
import type { TranscriptEvent } from '../../../../proxy/common/transcript.js';

// PLACEHOLDER (the replayer lands in this change): the props the sessions and bundle screens use.

/** What the replayer shows of a session: a live SessionRecord or a bundle's session line both fit. */
export interface ReplayerSession {
  readonly id: string;
  readonly resource: string;
  readonly protocol: string;
  readonly identity: { readonly subject: string; readonly issuer: string; readonly groups: readonly string[] };
  readonly startedAt: number;
  readonly endedAt: number | null;
  readonly status: string;
  readonly clientAddress?: string;
  readonly application?: string | null;
  readonly gateway?: string;
}

export interface ReplayerProps {
  readonly session: ReplayerSession;
  /** The session's events in seq order (EventRecord or a bundle's ChainedEvent mapped to this shape). */
  readonly events: readonly TranscriptEvent[];
  /** Start positioned at this event (a link from the inbox or a marker). */
  readonly initialSeq?: number;
  /** Shown above the player: a bundle's verification result, a live session's state. */
  readonly banner?: ReactNode;
}

export function Replayer(_props: ReplayerProps) {
  return <p>Replayer</p>;
}
