import { useEffect, useRef, type KeyboardEvent } from 'react';

// Saving rewrites the gateway's config file: the dialog says what changes before it happens.
// Escape or Cancel closes it; Tab stays inside it while it is open.

export interface Changes {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly changed: readonly string[];
  readonly reordered: boolean;
}

export function SaveDialog({ changes, file, saving, onConfirm, onCancel }: { readonly changes: Changes; readonly file: string; readonly saving: boolean; readonly onConfirm: () => void; readonly onCancel: () => void }) {
  const dialog = useRef<HTMLDivElement>(null);
  const cancel = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    // Cancel first: Enter right after opening must not save by accident.
    cancel.current?.focus();
    return () => previous?.focus();
  }, []);

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 'Escape' && !saving) {
      event.preventDefault();
      onCancel();
    }
    if (event.key !== 'Tab' || !dialog.current) return;
    const focusable = [...dialog.current.querySelectorAll<HTMLElement>('button:not(:disabled)')];
    const first = focusable[0];
    const last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last?.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first?.focus();
    }
  };

  return (
    <div className="dialog-backdrop">
      <div ref={dialog} className="dialog card" role="dialog" aria-modal="true" aria-labelledby="save-title" aria-describedby="save-what" onKeyDown={onKeyDown}>
        <h2 id="save-title">Save the masking rules?</h2>
        <p id="save-what">
          This rewrites the <code>masking:</code> section of <code>{file}</code> (the previous file is kept as a backup beside it). New sessions use the new rules at once; sessions open now keep theirs until they reconnect. The change is recorded in the audit log.
        </p>
        <ul className="change-list">
          {changes.added.map((name) => (
            <li key={`a-${name}`}>
              <span className="badge badge-open">add</span> <code>{name}</code>
            </li>
          ))}
          {changes.changed.map((name) => (
            <li key={`c-${name}`}>
              <span className="badge badge-warn">change</span> <code>{name}</code>
            </li>
          ))}
          {changes.removed.map((name) => (
            <li key={`r-${name}`}>
              <span className="badge badge-deny">remove</span> <code>{name}</code> <span className="muted">— what it masked is shown in clear to new sessions</span>
            </li>
          ))}
          {changes.reordered && (
            <li>
              <span className="badge">reorder</span> rules move in the file
            </li>
          )}
        </ul>
        <div className="dialog-actions">
          <button ref={cancel} type="button" className="button" onClick={onCancel} disabled={saving}>
            Cancel
          </button>
          <button type="button" className="button button-primary" onClick={onConfirm} disabled={saving}>
            {saving ? 'Saving…' : 'Save to the config file'}
          </button>
        </div>
      </div>
    </div>
  );
}
