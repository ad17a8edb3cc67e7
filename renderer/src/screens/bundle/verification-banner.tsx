import type { BundleManifest } from '../../../../proxy/common/bundle-verify.js';
import { formatCount, formatDateTime } from '../../ui/format.js';
import { PART_WORDS, type OpenedBundle } from './bundle-core.js';

// The verification result, first thing on the screen and impossible to mistake: a verified
// bundle in green with a shield, a failed one in red with a warning sign and the words
// "Verification FAILED", the part and the problem. A verified bundle checked without a trusted
// key says plainly that this proves consistency, not origin.

export function StatusIcon({ ok, size = 36 }: { readonly ok: boolean; readonly size?: number }) {
  return (
    <svg className="status-icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      {ok ? (
        <g fill="none" stroke="currentColor" strokeWidth="2" strokeLinejoin="round" strokeLinecap="round">
          <path d="M12 2.5l8 3v6c0 5-3.4 8.6-8 10-4.6-1.4-8-5-8-10v-6z" />
          <path d="M8 12.2l2.8 2.8L16.2 9.5" strokeWidth="2.4" />
        </g>
      ) : (
        <g fill="none" stroke="currentColor" strokeWidth="2" strokeLinejoin="round" strokeLinecap="round">
          <path d="M12 3L22 20.5H2z" />
          <path d="M12 9.5v5" strokeWidth="2.4" />
          <circle cx="12" cy="17.6" r="0.6" fill="currentColor" />
        </g>
      )}
    </svg>
  );
}

export function VerificationBanner({ opened, fileName, checkedMs }: { readonly opened: OpenedBundle; readonly fileName: string; readonly checkedMs: number }) {
  const { verification, manifest } = opened;
  if (!verification.ok) {
    const { problem } = verification;
    const where = [problem.session_id !== undefined && `session ${problem.session_id}`, problem.seq !== undefined && `event ${problem.seq}`, problem.ledger_n !== undefined && `ledger entry ${problem.ledger_n}`].filter(Boolean).join(', ');
    return (
      <section className="verification verification-failed" role="alert" aria-labelledby="verification-heading" data-testid="verification" data-verified="false">
        <StatusIcon ok={false} />
        <div className="verification-body">
          <h2 id="verification-heading">Verification FAILED</h2>
          <p className="verification-file">
            <strong>{fileName}</strong> cannot be trusted: the problem is in {PART_WORDS[problem.what]}.
          </p>
          <p className="verification-problem" data-testid="verification-problem">
            {problem.message}
          </p>
          {where && <p className="verification-where">At: {where}</p>}
          <p className="verification-advice">Its contents may have been changed after they were recorded. Do not rely on them; get the bundle again from its source.</p>
        </div>
      </section>
    );
  }
  return (
    <section className="verification verification-ok" role="status" aria-labelledby="verification-heading" data-testid="verification" data-verified="true">
      <StatusIcon ok />
      <div className="verification-body">
        <h2 id="verification-heading">Verified</h2>
        <p className="verification-file">
          <strong>{fileName}</strong>: the signature and every hash chain check out. Nothing in it was changed after the gateway recorded it.
        </p>
        <dl className="verification-facts">
          <div>
            <dt>Signed by key</dt>
            <dd>
              <code data-testid="signing-kid">{verification.kid}</code>{' '}
              {verification.keyTrusted ? <span className="trust trust-yes">the trusted key you gave</span> : <span className="trust trust-no">not checked against a key you trust</span>}
            </dd>
          </div>
          {verification.ledgerKid !== verification.kid && (
            <div>
              <dt>Ledger of gateway</dt>
              <dd>
                <code>{verification.ledgerKid}</code> (a store shared by several gateways; the signer vouches for it)
              </dd>
            </div>
          )}
          <div>
            <dt>Ledger head</dt>
            <dd>
              entry {verification.ledgerHead.n} · <code title={verification.ledgerHead.hash}>{shortHash(verification.ledgerHead.hash)}</code> · {verification.checkpoints} signed checkpoint
              {verification.checkpoints === 1 ? '' : 's'}
            </dd>
          </div>
          <div>
            <dt>Holds</dt>
            <dd data-testid="verification-counts">
              {plural(verification.counts.sessions, 'session')}, {plural(verification.counts.events, 'event')}, {plural(verification.counts.ledger, 'ledger entry', 'ledger entries')}
            </dd>
          </div>
          {manifest && (
            <div>
              <dt>Exported</dt>
              <dd>
                {formatDateTime(manifest.created)} · {selection(manifest)}
              </dd>
            </div>
          )}
          <div>
            <dt>Checked</dt>
            <dd>here in this browser, in {checkedMs < 1000 ? `${Math.max(1, Math.round(checkedMs))} ms` : `${(checkedMs / 1000).toFixed(1)} s`}; nothing was uploaded</dd>
          </div>
        </dl>
        {!verification.keyTrusted && (
          <p className="trust-note">
            Checked with the key the bundle names itself. That proves the bundle is whole and consistent, <strong>not who made it</strong>: anyone can sign a bundle with a key of their own. To check
            its origin, give the gateway's public key below.
          </p>
        )}
      </div>
    </section>
  );
}

/** Which sessions the export chose, in words. */
function selection(manifest: BundleManifest): string {
  if (!manifest.partial) return 'every session of the store';
  const { filter } = manifest;
  const parts = [
    filter.sessions && plural(filter.sessions.length, 'chosen session'),
    filter.resource !== undefined && `resource ${filter.resource}`,
    filter.since !== undefined && `since ${formatDateTime(filter.since)}`,
    filter.until !== undefined && `before ${formatDateTime(filter.until)}`,
  ].filter(Boolean);
  return `a selection: ${parts.join(', ') || 'filtered'}`;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

function shortHash(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}
