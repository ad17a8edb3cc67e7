import '@xterm/xterm/css/xterm.css';
import '../ui/theme.css';
import { StrictMode, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import type { DesktopBridge } from '../../../main/ipc/bridge-types.js';
import type { ApiError, WhoAmI } from '../../../proxy/api/api-contract.js';
import { App, type DesktopExtras } from '../app/app.js';
import { navigate } from '../app/routes.js';
import { EmptyState } from '../ui/empty-state.js';
import { ErrorBanner } from '../ui/error-banner.js';
import { IpcEngineClient } from './ipc-engine-client.js';

// The desktop app's page: the same App as the web console, over the preload's IPC object, plus
// Settings and bundles handed over by the OS (File > Open bundle, a double-clicked .sluice file,
// a file dropped anywhere on the window). No sign-in: the desktop user is the local operator.

const bridge = (globalThis as { sluice?: DesktopBridge }).sluice;

function Desktop({ bridge }: { readonly bridge: DesktopBridge }) {
  const client = useMemo(() => new IpcEngineClient(bridge), [bridge]);
  const [whoami, setWhoami] = useState<WhoAmI | undefined>();
  const [error, setError] = useState<ApiError | undefined>();
  const [bundle, setBundle] = useState<{ file: File } | undefined>();

  useEffect(() => {
    void client.call('identity.whoami', {}).then((result) => (result.ok ? setWhoami(result.value) : setError(result.error)));
  }, [client]);

  useEffect(() => bridge.onNavigate((hash) => (globalThis.location.hash = hash)), []);
  useEffect(() => bridge.onOpenBundle(({ name, bytes }) => setBundle({ file: new File([bytes as Uint8Array<ArrayBuffer>], name) })), []);

  // A bundle dropped anywhere (the bundle screen's own drop zone handles drops on itself).
  useEffect(() => {
    const over = (event: DragEvent) => event.preventDefault();
    const drop = (event: DragEvent) => {
      event.preventDefault();
      const file = event.dataTransfer?.files[0];
      if (!file || !file.name.toLowerCase().endsWith('.sluice')) return;
      setBundle({ file });
      navigate({ screen: 'bundle' });
    };
    globalThis.addEventListener('dragover', over);
    globalThis.addEventListener('drop', drop);
    return () => {
      globalThis.removeEventListener('dragover', over);
      globalThis.removeEventListener('drop', drop);
    };
  }, []);

  const desktop = useMemo<DesktopExtras>(() => ({ settings: bridge, ...(bundle && { bundle }) }), [bundle]);

  if (error) return <ErrorBanner error={error} action="Sluice could not start its window" />;
  if (!whoami) return null;
  return <App client={client} whoami={whoami} desktop={desktop} />;
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    {bridge ? (
      <Desktop bridge={bridge} />
    ) : (
      <EmptyState title="This is the Sluice desktop app's page">
        <p>It runs inside the app (npm start). In a browser, use the web console that sluice serve hosts.</p>
      </EmptyState>
    )}
  </StrictMode>,
);
