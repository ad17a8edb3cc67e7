import { useEffect, useMemo, useState } from 'react';
import type { WhoAmI } from '../../../proxy/api/api-contract.js';
import type { ConnectionState, EngineClient } from '../engine-client.js';
import { ApprovalsScreen } from '../screens/approvals/approvals-screen.js';
import { useApprovals } from '../screens/approvals/use-approvals.js';
import { BundleScreen } from '../screens/bundle/bundle-screen.js';
import { MaskingScreen } from '../screens/masking/masking-screen.js';
import { PolicyScreen } from '../screens/policy/policy-screen.js';
import { ReplayScreen } from '../screens/replayer/replay-screen.js';
import { SessionsScreen } from '../screens/sessions/sessions-screen.js';
import type { SettingsClient } from '../screens/settings/settings-client.js';
import { SettingsScreen } from '../screens/settings/settings-screen.js';
import { EmptyState } from '../ui/empty-state.js';
import { Nav, screensFor } from './nav.js';
import { navigate, useRoute, type Route } from './routes.js';

export interface AppProps {
  readonly client: EngineClient;
  readonly whoami: WhoAmI;
  readonly onSignOut?: () => void;
  /** The desktop app: its settings, and a bundle the OS or File > Open handed over. */
  readonly desktop?: DesktopExtras;
}

export interface DesktopExtras {
  readonly settings: SettingsClient;
  /** A new object each time one arrives (the same file twice opens twice). */
  readonly bundle?: { readonly file: File };
}

/** The console: navigation, the screen the route names, and the pending count in the tab title. */
export function App({ client, whoami, onSignOut, desktop }: AppProps) {
  const roles = useMemo(() => new Set(whoami.roles), [whoami]);
  const isDesktop = desktop !== undefined;
  const screens = useMemo(() => screensFor(roles, { desktop: isDesktop }), [roles, isDesktop]);
  const route = useRoute();
  const approvals = useApprovals(client, roles.has('approvers'));
  const connection = useConnection(client, roles.has('approvers') || roles.has('auditors'));
  const pending = approvals.pending.length;

  useEffect(() => {
    document.title = pending > 0 ? `(${pending}) Sluice — ${pending} pending approval${pending === 1 ? '' : 's'}` : 'Sluice';
  }, [pending]);

  // Alt+1…5 moves between screens from anywhere, typing included (Alt+digit types nothing).
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!event.altKey || event.ctrlKey || event.metaKey) return;
      const screen = screens.find((entry) => entry.key === event.key);
      if (!screen) return;
      event.preventDefault();
      navigate(screen.route);
    };
    globalThis.addEventListener('keydown', onKey);
    return () => globalThis.removeEventListener('keydown', onKey);
  }, [screens]);

  // No route (first visit): the first screen this caller may use.
  useEffect(() => {
    if (!route && screens[0]) navigate(screens[0].route, { replace: true });
  }, [route, screens]);

  return (
    <div className="app">
      <Nav screens={screens} route={route} pending={pending} whoami={whoami} connection={connection} label={client.label} {...(onSignOut && { onSignOut })} />
      <main className="screen" id="main">
        {route && <Screen route={route} roles={roles} client={client} whoami={whoami} approvals={approvals} {...(desktop && { desktop })} />}
      </main>
    </div>
  );
}

function Screen({ route, roles, client, whoami, approvals, desktop }: { route: Route; roles: ReadonlySet<string>; client: EngineClient; whoami: WhoAmI; approvals: ReturnType<typeof useApprovals>; desktop?: DesktopExtras }) {
  const allowed = (role: string) => roles.has(role);
  switch (route.screen) {
    case 'approvals':
      return allowed('approvers') ? <ApprovalsScreen client={client} whoami={whoami} approvals={approvals} {...(route.id && { focusId: route.id })} /> : <NotAllowed role="approvers" />;
    case 'sessions':
      return allowed('auditors') ? <SessionsScreen client={client} query={route.query} /> : <NotAllowed role="auditors" />;
    case 'replay':
      return allowed('auditors') ? <ReplayScreen client={client} sessionId={route.id} {...(route.seq && { seq: route.seq })} /> : <NotAllowed role="auditors" />;
    case 'masking':
      return allowed('admins') ? <MaskingScreen client={client} /> : <NotAllowed role="admins" />;
    case 'policy':
      return allowed('auditors') ? <PolicyScreen client={client} whoami={whoami} /> : <NotAllowed role="auditors" />;
    case 'bundle':
      return <BundleScreen {...(desktop?.bundle && { incoming: desktop.bundle })} />;
    case 'settings':
      return desktop ? <SettingsScreen client={desktop.settings} /> : <EmptyState title="Settings belong to the desktop app" />;
  }
}

function NotAllowed({ role }: { role: string }) {
  return (
    <EmptyState title={`This screen needs the ${role} role`}>
      <p>Your token does not hold it. Ask an admin to add one of your groups to <code>roles.{role}</code> in the gateway's config.</p>
    </EmptyState>
  );
}

/**
 * The events connection, held open for as long as the console shows, so the indicator tells the
 * truth on every screen and screens that subscribe find the socket already open.
 */
function useConnection(client: EngineClient, receivesEvents: boolean): ConnectionState {
  const [state, setState] = useState<ConnectionState>('offline');
  useEffect(() => client.onConnection(setState), [client]);
  useEffect(() => (receivesEvents ? client.subscribe(() => undefined) : undefined), [client, receivesEvents]);
  return state;
}
