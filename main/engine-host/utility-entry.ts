import { createLogger } from '../../proxy/engine/logger.js';
import type { HostReply, HostRequest } from './host-protocol.js';
import { serveEngineHost } from './engine-host.js';

// The engine host's entry in the Electron utilityProcess (electron/local-engine.ts forks it).
// Its stderr is the local gateway's log (inherited: the terminal `npm start` ran in, or the
// system log of a packaged app).

const parent = process.parentPort;
if (!parent) {
  process.stderr.write('utility-entry.js runs inside the Sluice desktop app (an Electron utilityProcess), not on its own\n');
  process.exit(2);
}

serveEngineHost(
  {
    post: (message: HostReply) => parent.postMessage(message),
    onMessage: (listener) => parent.on('message', (event) => listener(event.data as HostRequest)),
  },
  { log: createLogger((line) => process.stderr.write(line)), env: process.env, onStopped: () => process.exit(0) },
);
