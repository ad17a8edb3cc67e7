import { utilityProcess } from 'electron';
import { EngineLink } from '../engine-host/engine-link.js';
import { osUsername } from '../engine-host/operator.js';
import type { HostReply } from '../engine-host/host-protocol.js';

// The local engine in an Electron utilityProcess, not in the main process: masking every row of
// a large result, parsing statements and writing the audit store never hold up the main process
// (menus, the window, IPC answers), and a crash there leaves the app up to say so.

export function forkLocalEngine(entry: string, configFile: string): EngineLink {
  const child = utilityProcess.fork(entry, [], { serviceName: 'Sluice local gateway', stdio: 'inherit' });
  const link = new EngineLink({ post: (message) => child.postMessage(message), onMessage: (listener) => child.on('message', (message: HostReply) => listener(message)) }, configFile);
  child.once('spawn', () => link.start(osUsername()));
  child.on('exit', (code) => link.lost(`its process exited (code ${code}); restart the app, and see its log if it happens again`));
  return link;
}
