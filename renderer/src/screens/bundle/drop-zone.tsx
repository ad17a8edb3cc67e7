import { useId, useState, type DragEvent, type ReactNode } from 'react';

// Where a bundle comes in: dropped from the file manager, or chosen with the file input (a real
// <input type="file">, so the keyboard reaches it and it works with every assistive tool).

export function DropZone({ onFile, compact, disabled, children }: { readonly onFile: (file: File) => void; readonly compact: boolean; readonly disabled: boolean; readonly children?: ReactNode }) {
  const id = useId();
  const [over, setOver] = useState(false);

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setOver(false);
    const file = event.dataTransfer.files[0];
    if (file && !disabled) onFile(file);
  };

  return (
    <div
      className={`drop-zone${compact ? ' drop-zone-compact' : ''}${over ? ' drop-zone-over' : ''}`}
      data-testid="drop-zone"
      onDragOver={(event) => {
        event.preventDefault();
        event.dataTransfer.dropEffect = disabled ? 'none' : 'copy';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      {!compact && (
        <svg className="drop-icon" width="40" height="40" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <g fill="none" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" strokeLinejoin="round">
            <path d="M14 3H7a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V8z" />
            <path d="M14 3v5h5M12 11v6M9.5 14.5L12 17l2.5-2.5" />
          </g>
        </svg>
      )}
      <div className="drop-text">
        {compact ? <span>Drop another <code>.sluice</code> file here, or</span> : <p className="drop-title">Drop a <code>.sluice</code> bundle here, or choose one</p>}
        <input
          id={`${id}-file`}
          className="file-input"
          type="file"
          accept=".sluice"
          disabled={disabled}
          onChange={(event) => {
            const file = event.target.files?.[0];
            // Cleared so choosing the same file again opens it again.
            event.target.value = '';
            if (file) onFile(file);
          }}
        />
        <label htmlFor={`${id}-file`} className={`button ${compact ? '' : 'button-primary'} file-button`} aria-disabled={disabled}>
          Choose a .sluice file…
        </label>
        {!compact && <p className="muted drop-hint">Written by <code>sluice export</code>. It is checked here in your browser, with the same code as <code>sluice verify</code>: nothing is uploaded.</p>}
        {children}
      </div>
    </div>
  );
}
