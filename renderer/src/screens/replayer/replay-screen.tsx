import { routeHash } from '../../app/routes.js';
import type { EngineClient } from '../../engine-client.js';
import { EmptyState } from '../../ui/empty-state.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import { Replayer } from './replayer.js';
import { useSessionRecording } from './use-session-recording.js';

// #/sessions/ID: one recorded session in the player, live while it is open.

export interface ReplayScreenProps {
  readonly client: EngineClient;
  readonly sessionId: string;
  readonly seq?: number;
}

export function ReplayScreen({ client, sessionId, seq }: ReplayScreenProps) {
  const recording = useSessionRecording(client, sessionId);
  return (
    <div className="replay-screen">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <a href={routeHash({ screen: 'sessions', query: {} })}>← Sessions</a>
      </nav>
      {recording.status === 'loading' && (
        <p className="muted" role="status">
          Loading session {sessionId}…
        </p>
      )}
      {recording.status === 'error' &&
        (recording.error.code === 'not_found' ? (
          <EmptyState title="No such session">
            <p>
              The audit store has no session <code>{sessionId}</code>: the link is wrong, or retention has pruned it. <a href={routeHash({ screen: 'sessions', query: {} })}>See the recorded sessions</a>.
            </p>
          </EmptyState>
        ) : (
          <ErrorBanner error={recording.error} action="Could not load the session" />
        ))}
      {recording.status === 'ok' && (
        <Replayer
          key={sessionId}
          session={recording.session}
          events={recording.events}
          {...(seq !== undefined && { initialSeq: seq })}
          banner={<SessionBanner status={recording.session.status} />}
        />
      )}
    </div>
  );
}

function SessionBanner({ status }: { status: string }) {
  if (status === 'open') {
    return (
      <p className="replayer-banner replayer-banner-live" role="status">
        <strong>Live session.</strong> It is still open: new statements appear as they happen, and the player follows them while it is at the end.
      </p>
    );
  }
  if (status === 'aborted') {
    return (
      <p className="replayer-banner replayer-banner-aborted" role="status">
        <strong>This session was aborted</strong> (the connection broke, or the gateway stopped): its last statement may have no answer.
      </p>
    );
  }
  return null;
}
