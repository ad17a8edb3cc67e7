import { useCallback, useEffect, useState } from 'react';
import type { Approval } from '../../../../proxy/api/api-contract.js';
import { navigate } from '../../app/routes.js';
import { statementVerb } from './approval-words.js';

// Desktop notifications (the Notification API) for new approval requests: an approver with the
// console in a background tab learns of a held statement without watching the tab. Nothing is
// asked of the browser until the approver clicks "Enable desktop notifications".

export type NotificationPermissionState = NotificationPermission | 'unsupported';

function api(): typeof Notification | undefined {
  return typeof globalThis.Notification === 'function' ? globalThis.Notification : undefined;
}

export function notificationPermission(): NotificationPermissionState {
  return api()?.permission ?? 'unsupported';
}

/** The permission, and a way to ask for it (from a click: browsers refuse to ask otherwise). */
export function useNotificationPermission(): { readonly permission: NotificationPermissionState; request(): Promise<void> } {
  const [permission, setPermission] = useState(notificationPermission);
  // Site settings can change while the console is open; re-read when the tab comes back.
  useEffect(() => {
    const refresh = () => setPermission(notificationPermission());
    globalThis.addEventListener('focus', refresh);
    return () => globalThis.removeEventListener('focus', refresh);
  }, []);
  const request = useCallback(async () => {
    const Notify = api();
    if (!Notify) return;
    setPermission(await Notify.requestPermission());
  }, []);
  return { permission, request };
}

/**
 * Tells the approver of a new request, when they allowed it and are not looking at the console
 * already (a notification for what is on screen in front of them is noise). Clicking it brings
 * the console forward on that request.
 */
export function notifyRequest(approval: Approval): void {
  const Notify = api();
  if (!Notify || Notify.permission !== 'granted') return;
  if (document.visibilityState === 'visible' && document.hasFocus()) return;
  const statement = approval.statement.replace(/\s+/g, ' ').trim();
  try {
    const notification = new Notify(`Approval needed: ${statementVerb(approval.statement)} on ${approval.resource}`, {
      body: `${approval.requester.subject} · rule ${approval.rule}\n${statement.length > 140 ? `${statement.slice(0, 140)}…` : statement}`,
      // One notification per request, even if the event is delivered twice.
      tag: `sluice-approval-${approval.id}`,
    });
    notification.onclick = () => {
      globalThis.focus();
      navigate({ screen: 'approvals', id: approval.id });
      notification.close();
    };
  } catch {
    // Some browsers only allow notifications from a service worker; the inbox and tab title still show it.
  }
}
