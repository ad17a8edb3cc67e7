import type { WhoAmI } from '../../../proxy/api/api-contract.js';
import type { ConnectionState } from '../engine-client.js';
import { routeHash, type Route, type ScreenName } from './routes.js';

export interface ScreenEntry {
  readonly name: ScreenName;
  readonly label: string;
  readonly route: Route;
  /** The role the screen needs; undefined: anyone (offline bundles need no gateway). */
  readonly role?: string;
  /** Alt+key jumps here. */
  readonly key: string;
}

const SCREENS: readonly ScreenEntry[] = [
  { name: 'approvals', label: 'Approvals', route: { screen: 'approvals' }, role: 'approvers', key: '1' },
  { name: 'sessions', label: 'Sessions', route: { screen: 'sessions', query: {} }, role: 'auditors', key: '2' },
  { name: 'masking', label: 'Masking rules', route: { screen: 'masking' }, role: 'admins', key: '3' },
  { name: 'policy', label: 'Policy & resources', route: { screen: 'policy' }, role: 'auditors', key: '4' },
  { name: 'bundle', label: 'Open bundle', route: { screen: 'bundle' }, key: '5' },
];

const SETTINGS: ScreenEntry = { name: 'settings', label: 'Settings', route: { screen: 'settings' }, key: '6' };

/** The screens this caller may use; the desktop app adds Settings. */
export function screensFor(roles: ReadonlySet<string>, options: { readonly desktop?: boolean } = {}): readonly ScreenEntry[] {
  const screens = SCREENS.filter((screen) => !screen.role || roles.has(screen.role));
  return options.desktop ? [...screens, SETTINGS] : screens;
}

const CONNECTION_TEXT: Record<ConnectionState, string> = { live: 'Live', connecting: 'Reconnecting…', offline: 'Not connected' };

export interface NavProps {
  readonly screens: readonly ScreenEntry[];
  readonly route: Route | undefined;
  readonly pending: number;
  readonly whoami: WhoAmI;
  readonly connection: ConnectionState;
  readonly label: string;
  readonly onSignOut?: () => void;
}

export function Nav({ screens, route, pending, whoami, connection, label, onSignOut }: NavProps) {
  const current = route?.screen === 'replay' ? 'sessions' : route?.screen;
  return (
    <header className="topbar">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <div className="brand" aria-label="Sluice">
        <span className="brand-mark" aria-hidden="true">
          ◆
        </span>{' '}
        Sluice
      </div>
      <nav aria-label="Screens">
        <ul>
          {screens.map((screen) => (
            <li key={screen.name}>
              <a href={routeHash(screen.route)} aria-current={current === screen.name ? 'page' : undefined} title={`${screen.label} (Alt+${screen.key})`}>
                {screen.label}
                {screen.name === 'approvals' && pending > 0 && (
                  <span className="badge badge-pending" aria-label={`${pending} pending`}>
                    {pending}
                  </span>
                )}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <div className="whoami">
        {/* Only approvers and auditors receive live events; for anyone else there is no connection to show. */}
        {whoami.roles.some((role) => role === 'approvers' || role === 'auditors') && (
          <span className={`connection connection-${connection}`} title={`Events from ${label}: ${CONNECTION_TEXT[connection]}`}>
            <span className="dot" aria-hidden="true" /> {CONNECTION_TEXT[connection]}
          </span>
        )}
        <span className="subject" title={`${whoami.issuer} · roles: ${whoami.roles.join(', ') || 'none'}`}>
          {whoami.subject}
        </span>
        {onSignOut && (
          <button type="button" className="button button-quiet" onClick={onSignOut}>
            Sign out
          </button>
        )}
      </div>
    </header>
  );
}
