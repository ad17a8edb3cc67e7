import { createStaticToken } from '../../identity/static-tokens.js';
import { stringOption, type Command } from '../command.js';
import { EXIT_OK, UsageError } from '../io.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const GROUP = /^[^\s,{}[\]"']+$/;

export const tokenCreateCommand: Command = {
  words: ['token', 'create'],
  summary: 'mint a caller token: prints it once, and the config line holding only its hash',
  usage: '--name NAME [--groups a,b]',
  details: ['The token is shown once. Sluice stores only its sha256, so keep it in your secret manager.'],
  options: { name: { type: 'string', short: 'n' }, groups: { type: 'string', short: 'g' } },
  async run(args, io) {
    const name = stringOption(args, 'name');
    if (!name) throw new UsageError('--name is required', "run 'sluice token create --name ci-deploy --groups ci'");
    if (!NAME.test(name)) {
      throw new UsageError(`--name "${name}" is not a valid name`, 'use 1-63 letters, digits, "_", "-" or "."');
    }
    const groups = (stringOption(args, 'groups') ?? '').split(',').map((g) => g.trim()).filter(Boolean);
    const badGroup = groups.find((group) => !GROUP.test(group));
    if (badGroup) throw new UsageError(`--groups: "${badGroup}" is not a valid group name`, 'use names without spaces, quotes or brackets, separated by commas');

    const { token, sha256 } = createStaticToken();
    io.stdout(
      [
        `token: ${token}`,
        '',
        'Shown once: store it in your secret manager. Sluice keeps only its hash.',
        'Add this line under identity.tokens in sluice.yaml:',
        '',
        `  - { name: ${name}, sha256: "${sha256}", groups: [${groups.join(', ')}] }`,
        '',
      ].join('\n'),
    );
    return EXIT_OK;
  },
};
