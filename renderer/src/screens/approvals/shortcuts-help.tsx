import { useEffect, useRef } from 'react';
import { SHORTCUTS } from './use-inbox-keys.js';

/** The inbox's keys, over the page (it moves nothing when it opens). */
export function ShortcutsHelp({ onClose }: { onClose(): void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => close.current?.focus(), []);
  return (
    <div className="shortcuts-help card" id="approvals-shortcuts" role="dialog" aria-label="Keyboard shortcuts">
      <div className="shortcuts-head">
        <h2>Keyboard shortcuts</h2>
        <button type="button" ref={close} className="button button-quiet" onClick={onClose}>
          Close <kbd aria-hidden="true">Esc</kbd>
        </button>
      </div>
      <table>
        <tbody>
          {SHORTCUTS.map(({ keys, what }) => (
            <tr key={what}>
              <th scope="row">
                {keys.map((key, index) => (
                  <span key={key}>
                    {index > 0 && ' or '}
                    <kbd>{key}</kbd>
                  </span>
                ))}
              </th>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted">Shortcuts do nothing while you type in a field, and approve only a request that has been on screen for a moment.</p>
    </div>
  );
}
