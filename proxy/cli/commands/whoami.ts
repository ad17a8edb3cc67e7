import { AuthError } from '../../identity/auth-error.js';
import { Authenticator } from '../../identity/authenticator.js';
import { stringOption, type Command } from '../command.js';
import { configPath, loadConfigOrReport } from '../config-file.js';
import { readCredential } from '../credential.js';
import { EXIT_FAILED, EXIT_OK } from '../io.js';

export const whoamiCommand: Command = {
  words: ['whoami'],
  summary: 'authenticate a token or OIDC JWT against a config and print the identity and groups it gets',
  usage: '[--config FILE] [--token-file FILE]',
  details: [
    'The credential comes from --token-file, else $SLUICE_TOKEN. Use it to check',
    'group templates against a real CI id token before writing policy.',
  ],
  options: { config: { type: 'string', short: 'c' }, 'token-file': { type: 'string' } },
  async run(args, io) {
    const file = configPath(args, io);
    const credential = await readCredential(stringOption(args, 'token-file'), io);
    // Only identity is needed: resource secrets may legitimately be absent here.
    const loaded = await loadConfigOrReport(file, io, { resolveSecrets: false });
    if (!loaded) return EXIT_FAILED;
    const { config } = loaded;
    try {
      const identity = await new Authenticator(config.identity).authenticate(credential);
      io.stdout(
        [
          `subject: ${identity.subject}`,
          `issuer:  ${identity.issuer}`,
          `method:  ${identity.method}`,
          `groups:  ${identity.groups.join(', ') || '(none)'}`,
          ...Object.entries(identity.claims).map(([claim, value]) => `claim ${claim}: ${String(value)}`),
          ...(identity.expiresAt ? [`expires: ${new Date(identity.expiresAt).toISOString()}`] : []),
          '',
        ].join('\n'),
      );
      return EXIT_OK;
    } catch (error) {
      if (!(error instanceof AuthError)) throw error;
      io.stderr(`sluice: credential refused: ${error.message}\n`);
      return EXIT_FAILED;
    }
  },
};
