import { app, Menu, nativeImage, Tray } from 'electron';
import { iconPng, pendingTooltip } from '../tray/tray-icon.js';

// The tray icon (and the dock badge on macOS, the launcher count on Unity): how many approvals
// wait, and "Open inbox".

export interface PendingIndicator {
  /** A tray icon exists: closing the window can leave the app running there. */
  readonly inTray: boolean;
  update(pending: number): void;
  destroy(): void;
}

export function createPendingIndicator(actions: { openInbox: () => void; quit: () => void }): PendingIndicator {
  let tray: Tray | undefined;
  try {
    tray = new Tray(nativeImage.createFromBuffer(iconPng(32)));
  } catch {
    tray = undefined; // No tray on this desktop: the badge and the window title still count.
  }
  tray?.on('click', actions.openInbox);
  const update = (pending: number) => {
    if (tray) {
      tray.setImage(nativeImage.createFromBuffer(iconPng(32, { badge: pending > 0 })));
      tray.setToolTip(pendingTooltip(pending));
      if (process.platform === 'darwin') tray.setTitle(pending > 0 ? String(pending) : '');
      tray.setContextMenu(
        Menu.buildFromTemplate([
          { label: pendingTooltip(pending).replace(/^Sluice: /, ''), enabled: false },
          { label: 'Open inbox', click: actions.openInbox },
          { type: 'separator' },
          { label: 'Quit Sluice', click: actions.quit },
        ]),
      );
    }
    app.setBadgeCount(pending);
  };
  update(0);
  return { inTray: tray !== undefined, update, destroy: () => tray?.destroy() };
}
