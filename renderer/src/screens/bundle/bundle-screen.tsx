import './bundle.css';
import { useCallback, useEffect, useRef, useState } from 'react';
import type { ChainedEvent } from '../../../../proxy/common/audit-chain-types.js';
import type { Ed25519PublicJwk } from '../../../../proxy/common/checkpoint-verify.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import { formatCount } from '../../ui/format.js';
import { Replayer } from '../replayer/replayer.js';
import type { OpenedBundle, OpenPhase } from './bundle-core.js';
import { createBundleOpener, type BundleOpener } from './bundle-opener.js';
import { ReplayBanner, replayerSession, SessionList, transcriptEvents } from './bundle-sessions.js';
import { DropZone } from './drop-zone.js';
import { TrustedKeyForm } from './trusted-key-form.js';
import { StatusIcon, VerificationBanner } from './verification-banner.js';

// Open bundle: a `.sluice` file from `sluice export`, verified in this browser (no server call:
// it works signed out of any gateway, and in the desktop app offline), its verification shown
// first, then its sessions replayed like live ones. A bundle that fails is not hidden: what it
// claims can be looked at, behind a deliberate click and under a red banner that never goes away.

interface FileInfo {
  readonly name: string;
  readonly size: number;
}

type Step =
  | { readonly step: 'idle' }
  | { readonly step: 'opening'; readonly file: FileInfo; readonly phase: OpenPhase; readonly startedAt: number }
  | { readonly step: 'opened'; readonly file: FileInfo; readonly opened: OpenedBundle; readonly checkedMs: number }
  | { readonly step: 'failed'; readonly file: FileInfo; readonly message: string };

type Events = { readonly id: string; readonly events?: readonly ChainedEvent[]; readonly error?: string };

/** Past this, checking takes seconds (56 MB with 100k events: about 24 s in Chromium on a busy 2-core machine): say so. */
const LARGE_BUNDLE_BYTES = 5 * 1024 * 1024;

const PHASE_WORDS: Readonly<Record<OpenPhase, string>> = {
  reading: 'Reading the file',
  verifying: 'Checking the signature and every hash chain',
  'reading-unverified': 'Verification failed; reading what the bundle claims',
};

/** `incoming`: a bundle handed over from outside the screen (the desktop app's File > Open, a double-clicked file). */
export function BundleScreen({ incoming }: { readonly incoming?: { readonly file: File } } = {}) {
  const opener = useRef<BundleOpener | undefined>(undefined);
  const ticket = useRef(0);
  const [state, setState] = useState<Step>({ step: 'idle' });
  const [trustedKey, setTrustedKey] = useState<Ed25519PublicJwk | undefined>();
  const [keyText, setKeyText] = useState('');
  const [showUnverified, setShowUnverified] = useState(false);
  const [selected, setSelected] = useState<string | undefined>();
  const [events, setEvents] = useState<Events | undefined>();

  useEffect(() => () => opener.current?.close(), []);

  const run = useCallback(async (file: FileInfo, work: (opener: BundleOpener, onPhase: (phase: OpenPhase) => void) => Promise<OpenedBundle>) => {
    const mine = ++ticket.current;
    const startedAt = performance.now();
    const startedAtMs = Date.now();
    opener.current ??= createBundleOpener();
    setState({ step: 'opening', file, phase: 'reading', startedAt: startedAtMs });
    setShowUnverified(false);
    setSelected(undefined);
    setEvents(undefined);
    try {
      const opened = await work(opener.current, (phase) => {
        if (mine === ticket.current) setState({ step: 'opening', file, phase, startedAt: startedAtMs });
      });
      if (mine !== ticket.current) return;
      setState({ step: 'opened', file, opened, checkedMs: performance.now() - startedAt });
      // One verified session: there is nothing to choose, so it is ready to replay.
      if (opened.verification.ok && opened.sessions.length === 1) setSelected(opened.sessions[0]!.record.id);
    } catch (error) {
      if (mine === ticket.current) setState({ step: 'failed', file, message: error instanceof Error ? error.message : String(error) });
    }
  }, []);

  const openFile = (file: File) => void run({ name: file.name, size: file.size }, (bundles, onPhase) => bundles.open(file, trustedKey, onPhase));

  // Each handed-over bundle opens once (a new object per hand-over).
  // (Keyed on `incoming` alone: openFile reads the current trusted key, and re-running when it
  // changes would reopen the file.)
  const handedOver = useRef<{ readonly file: File } | undefined>(undefined);
  useEffect(() => {
    if (!incoming || handedOver.current === incoming) return;
    handedOver.current = incoming;
    openFile(incoming.file);
  }, [incoming]);

  const verifyWith = (key: Ed25519PublicJwk | undefined) => {
    setTrustedKey(key);
    if (state.step === 'opened') void run(state.file, (bundles, onPhase) => bundles.verify(key, onPhase));
  };

  // Chosen by hand: the player below the list is where the reader looks next.
  const replayRef = useRef<HTMLDivElement>(null);
  const scrollToPlayer = useRef(false);
  const choose = (id: string) => {
    scrollToPlayer.current = true;
    setSelected(id);
  };

  // The chosen session's events, fetched from wherever the bundle is held.
  useEffect(() => {
    if (selected === undefined || !opener.current) return;
    let current = true;
    setEvents({ id: selected });
    opener.current.events(selected).then(
      (loaded) => current && setEvents({ id: selected, events: loaded }),
      (error: unknown) => current && setEvents({ id: selected, error: error instanceof Error ? error.message : String(error) }),
    );
    return () => {
      current = false;
    };
  }, [selected]);

  useEffect(() => {
    if (!scrollToPlayer.current || !events?.events) return;
    scrollToPlayer.current = false;
    replayRef.current?.scrollIntoView?.({ block: 'start', behavior: 'smooth' });
  }, [events]);

  const busy = state.step === 'opening';
  const opened = state.step === 'opened' ? state.opened : undefined;
  const verified = opened?.verification.ok === true;
  const contentVisible = opened !== undefined && (verified || showUnverified);

  return (
    <div className="bundle-screen">
      <header className="bundle-header">
        <h1>Open bundle</h1>
        <DropZone onFile={openFile} compact={state.step !== 'idle'} disabled={busy} />
      </header>

      {state.step === 'opening' && <Opening file={state.file} phase={state.phase} startedAt={state.startedAt} />}
      {state.step === 'failed' && <ErrorBanner error={state.message} action={`Could not open ${state.file.name}`} />}

      {state.step === 'opened' && (
        <>
          <VerificationBanner opened={state.opened} fileName={state.file.name} checkedMs={state.checkedMs} />
          <TrustedKeyForm text={keyText} onText={setKeyText} trusted={trustedKey !== undefined} busy={busy} onVerify={verifyWith} />
          {!verified && (
            <div className="unverified-gate">
              {state.opened.unreadable !== undefined ? (
                <p className="muted">There is nothing to show: the file cannot even be read as a bundle ({state.opened.unreadable}).</p>
              ) : (
                <button type="button" className="button button-deny" aria-expanded={showUnverified} onClick={() => setShowUnverified((shown) => !shown)}>
                  {showUnverified ? 'Hide unverified content' : `Show unverified content (${formatCount(state.opened.sessions.length)} session${state.opened.sessions.length === 1 ? '' : 's'})`}
                </button>
              )}
            </div>
          )}
          {contentVisible && <SessionList sessions={state.opened.sessions} selected={selected} unverified={!verified} onSelect={choose} />}
          <div ref={replayRef}>{contentVisible && selected !== undefined && <SelectedReplay opened={state.opened} fileName={state.file.name} sessionId={selected} events={events} />}</div>
        </>
      )}
    </div>
  );
}

function Opening({ file, phase, startedAt }: { readonly file: FileInfo; readonly phase: OpenPhase; readonly startedAt: number }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(timer);
  }, []);
  return (
    <div className="opening card" role="status" aria-live="polite" data-testid="opening">
      <div className="opening-text">
        <strong>{PHASE_WORDS[phase]}…</strong>
        <span className="muted">
          {file.name} · {megabytes(file.size)} · {((now - startedAt) / 1000).toFixed(1)} s
        </span>
      </div>
      <div className="progress" aria-hidden="true">
        <div className="progress-bar" />
      </div>
      {file.size > LARGE_BUNDLE_BYTES && <p className="muted opening-note">A bundle this size takes a while: every event's hash is checked. The console stays usable meanwhile.</p>}
    </div>
  );
}

function SelectedReplay({ opened, fileName, sessionId, events }: { readonly opened: OpenedBundle; readonly fileName: string; readonly sessionId: string; readonly events: Events | undefined }) {
  const summary = opened.sessions.find((session) => session.record.id === sessionId);
  if (!summary) return null;
  const { verification } = opened;
  const banner = verification.ok ? (
    <ReplayBanner verified>
      <StatusIcon ok size={18} />
      <span>
        Verified bundle <strong>{fileName}</strong> · signed by key <code>{verification.kid}</code> {verification.keyTrusted ? '(trusted)' : '(not checked against a trusted key)'}
      </span>
    </ReplayBanner>
  ) : (
    <ReplayBanner verified={false}>
      <StatusIcon ok={false} size={18} />
      <span>
        <strong>UNVERIFIED CONTENT.</strong> {fileName} failed verification ({verification.problem.message}). What is shown may have been changed.
      </span>
    </ReplayBanner>
  );
  if (events?.id !== sessionId || (!events.events && !events.error)) {
    return (
      <section className="bundle-replay" aria-label="Replay">
        {banner}
        <p className="muted" role="status">
          Loading the session's events…
        </p>
      </section>
    );
  }
  if (events.error !== undefined || !events.events) {
    return (
      <section className="bundle-replay" aria-label="Replay">
        {banner}
        <ErrorBanner error={events.error ?? 'no events'} action="Could not load the session" />
      </section>
    );
  }
  return (
    <section className="bundle-replay" aria-label="Replay">
      <Replayer key={sessionId} session={replayerSession(summary.record)} events={transcriptEvents(events.events)} banner={banner} />
    </section>
  );
}

function megabytes(bytes: number): string {
  return bytes < 1024 * 1024 ? `${Math.max(1, Math.round(bytes / 1024))} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
