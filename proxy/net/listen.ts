import type { AddressInfo, Server } from 'node:net';

/**
 * Starts `server` listening; resolves with the address it got (port 0 picks a free one), or
 * rejects with the listen error (EADDRINUSE, EACCES) instead of emitting it.
 */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
