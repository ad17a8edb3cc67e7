import '@xterm/xterm/css/xterm.css';
import '../ui/theme.css';
import { StrictMode, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { WhoAmI } from '../../../proxy/api/api-contract.js';
import { App } from '../app/app.js';
import { HttpEngineClient } from './http-engine-client.js';
import { LoginScreen } from './login-screen.js';
import { forgetToken, storedToken, storeToken } from './token-store.js';

// The web console's entry: sign in with a token, then the same App the desktop app shows.

function WebConsole() {
  const [session, setSession] = useState<{ token: string; whoami: WhoAmI } | undefined>();
  const [checking, setChecking] = useState(() => storedToken() !== undefined);
  const [notice, setNotice] = useState<string | undefined>();

  const signOut = (why?: string) => {
    forgetToken();
    setSession(undefined);
    setNotice(why);
  };

  // A reload keeps the tab's token: check it is still good before showing anything.
  useEffect(() => {
    const token = storedToken();
    if (!token) return;
    const client = new HttpEngineClient({ token });
    void client.call('identity.whoami', {}).then((result) => {
      client.close();
      setChecking(false);
      if (result.ok) setSession({ token, whoami: result.value });
      else signOut(result.error.code === 'unauthenticated' ? 'Your token is no longer accepted; sign in again.' : result.error.message);
    });
  }, []);

  const client = useMemo(
    () => session && new HttpEngineClient({ token: session.token, onUnauthenticated: () => signOut('The gateway stopped accepting your token (expired or revoked); sign in again.') }),
    [session],
  );
  useEffect(() => () => client?.close(), [client]);

  if (checking) return null;
  if (!session || !client) {
    return (
      <LoginScreen
        {...(notice && { notice })}
        onSignedIn={(token, whoami) => {
          storeToken(token);
          setNotice(undefined);
          setSession({ token, whoami });
        }}
      />
    );
  }
  return <App client={client} whoami={session.whoami} onSignOut={() => signOut()} />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <WebConsole />
  </StrictMode>,
);
