import { Notification } from 'electron';
import type { NotificationSink, ShownNotification } from '../notify/notifier.js';

// The notifier's sink over Electron's Notification (the OS's own). Clicking one brings the window
// forward on the request, or on the inbox for a grouped one.

export function nativeNotificationSink(onClick: (target: ShownNotification['target']) => void): NotificationSink {
  const open = new Map<string, Notification>();
  return {
    show(shown) {
      if (!Notification.isSupported()) return;
      const notification = new Notification({ title: shown.title, body: shown.body });
      notification.on('click', () => onClick(shown.target));
      notification.on('close', () => open.delete(shown.key));
      open.set(shown.key, notification);
      notification.show();
    },
    close(key) {
      open.get(key)?.close();
      open.delete(key);
    },
  };
}
