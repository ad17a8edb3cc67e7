import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { Approval, ApiError } from '../../../../proxy/api/api-contract.js';
import { approveVotes, decisionErrorTitle, grantWords } from './approval-words.js';

// Approve / Deny for the selected request. Approve and Deny sit apart and say what they do; deny
// asks for a reason (the requester reads it in their client's error) and sends nothing without
// one. The bar keeps its height whether it shows buttons or the reason field, so nothing moves
// under the pointer.

export interface DecisionError {
  readonly decision: 'approve' | 'deny';
  readonly error: ApiError;
}

export interface DecisionBarProps {
  readonly approval: Approval;
  /** The signed-in approver (a second vote of theirs is refused). */
  readonly me: { readonly subject: string; readonly issuer: string };
  /** The countdown ran out (the gateway's expiry event may still be on its way). */
  readonly expired: boolean;
  readonly busy: boolean;
  readonly denying: boolean;
  readonly error?: DecisionError;
  onApprove(scope: 'once' | 'session'): void;
  onDenyOpen(): void;
  onDenySubmit(reason: string): void;
  onDenyCancel(): void;
}

export function DecisionBar(props: DecisionBarProps) {
  const { approval, me, expired, busy, denying, error } = props;
  const myVote = approval.votes.find((vote) => vote.approver.subject === me.subject && vote.approver.issuer === me.issuer);
  const votes = approveVotes(approval);
  return (
    <div className="decision-bar" aria-label="Decision">
      {error && (
        <div className="decision-error" role="alert">
          <strong>{decisionErrorTitle(error.decision, error.error)}.</strong> {error.error.message}
        </div>
      )}
      {denying ? (
        <DenyForm busy={busy} onSubmit={props.onDenySubmit} onCancel={props.onDenyCancel} />
      ) : (
        <div className="decision-body">
          <div className="decision-row">
            {expired ? (
              <p className="decision-note">Time is up: this request can no longer be decided. The statement will not run.</p>
            ) : myVote ? (
              <p className="decision-note">
                You approved this. It needs {approval.quorum - votes} more approval{approval.quorum - votes === 1 ? '' : 's'} from another approver.
              </p>
            ) : (
              <>
                <button type="button" className="button button-approve" disabled={busy} onClick={() => props.onApprove('once')} aria-keyshortcuts="a">
                  <span aria-hidden="true">✓</span> Approve once <kbd aria-hidden="true">a</kbd>
                </button>
                {approval.sessionGrantMs !== undefined && approval.sessionGrantMs > 0 && (
                  <button
                    type="button"
                    className="button button-approve-session"
                    disabled={busy}
                    onClick={() => props.onApprove('session')}
                    title="Also lets statements of this same shape run again in this session without asking, for the time shown"
                  >
                    Approve for this session ({grantWords(approval.sessionGrantMs)})
                  </button>
                )}
                <span className="decision-spacer" />
                <button type="button" className="button button-deny" disabled={busy} onClick={props.onDenyOpen} aria-keyshortcuts="d">
                  <span aria-hidden="true">✕</span> Deny… <kbd aria-hidden="true">d</kbd>
                </button>
              </>
            )}
          </div>
          <p className="decision-hint">
            {expired || myVote
              ? ' '
              : `Nothing has run yet: ${approval.requester.subject}'s client is waiting. Approve runs exactly this statement, once.`}
          </p>
        </div>
      )}
    </div>
  );
}

function DenyForm({ busy, onSubmit, onCancel }: { readonly busy: boolean; onSubmit(reason: string): void; onCancel(): void }) {
  const [reason, setReason] = useState('');
  const [missing, setMissing] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = reason.trim();
    if (!text) {
      setMissing(true);
      input.current?.focus();
      return;
    }
    onSubmit(text);
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      onCancel();
    }
  };

  return (
    <form className="deny-form decision-body" onSubmit={submit} noValidate>
      <div className="decision-row">
        <label htmlFor="deny-reason">Why deny?</label>
        <input
          id="deny-reason"
          ref={input}
          type="text"
          value={reason}
          maxLength={2_000}
          autoComplete="off"
          placeholder="e.g. run it against staging first"
          aria-invalid={missing}
          aria-describedby="deny-reason-hint"
          onChange={(event) => {
            setReason(event.target.value);
            if (event.target.value.trim()) setMissing(false);
          }}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="button button-deny-confirm" disabled={busy}>
          Deny request
        </button>
        <button type="button" className="button button-quiet" onClick={onCancel} onKeyDown={onKeyDown}>
          Cancel <kbd aria-hidden="true">Esc</kbd>
        </button>
      </div>
      <p id="deny-reason-hint" className={missing ? 'decision-hint field-error' : 'decision-hint'} aria-live="polite">
        {missing ? 'Write a reason first: the requester needs to know what to change.' : 'The requester sees this reason in their error. Enter sends it, Esc cancels.'}
      </p>
    </form>
  );
}
