import type { WhoAmI } from '../../proxy/api/api-contract.js';
import { DesktopFailure } from '../ipc/ipc-binding.js';
import { RemoteGateway } from './remote-gateway.js';

// Before a remote gateway is kept: reach it (TLS verified or pinned), and check the token is an
// approver's there. A wrong URL, certificate or token is said at once, not discovered later.

export async function checkGateway(options: { url: string; token: string; fingerprint?: string; label: string }): Promise<WhoAmI> {
  const probe = new RemoteGateway({ id: 'probe', ...options });
  try {
    const result = await probe.call('identity.whoami', {});
    if (!result.ok) {
      if (result.error.code === 'unauthenticated') throw new DesktopFailure('unauthenticated', `${options.url} does not accept this token (unknown, expired or revoked)`);
      throw new DesktopFailure(result.error.code === 'unavailable' ? 'unavailable' : 'invalid_input', result.error.message);
    }
    const whoami = result.value as WhoAmI;
    if (!whoami.roles.includes('approvers')) {
      throw new DesktopFailure('forbidden', `the token is ${whoami.subject}'s, who is not an approver on ${options.url} (roles: ${whoami.roles.join(', ') || 'none'}); use an approver's token`);
    }
    return whoami;
  } finally {
    probe.close();
  }
}
