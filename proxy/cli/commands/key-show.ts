import { readPublicKey } from '../../audit/signing-key.js';
import { publicKeyLine } from '../../common/checkpoint-verify.js';
import type { Command } from '../command.js';
import { configPath, loadConfigOrReport } from '../config-file.js';
import { EXIT_FAILED, EXIT_OK } from '../io.js';

// `sluice key show` prints only the public half, read from data_dir without creating a key:
// a key made here would not be the one the gateway signs with.

export const keyShowCommand: Command = {
  words: ['key', 'show'],
  summary: "print the gateway's public signing key, which verifies its audit checkpoints",
  usage: '[--config FILE] [--json]',
  details: [
    'Reads data_dir/signing-key.pem of the config (--config, else $SLUICE_CONFIG, else',
    './sluice.yaml) and prints its public half: the one-line form (sluice-ed25519:…), the',
    'key id and the PEM. Give it to whoever verifies exported audit bundles. Secrets in the',
    'config are not needed. The key is created when `sluice serve` first starts.',
    '--json prints {"kid", "jwk", "line", "pem"}.',
  ],
  options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' } },
  async run(args, io) {
    const file = configPath(args, io);
    // Only data_dir is needed: resource secrets may be absent where the key is read.
    const loaded = await loadConfigOrReport(file, io, { resolveSecrets: false });
    if (!loaded) return EXIT_FAILED;
    const key = await readPublicKey(loaded.config.data_dir);
    const line = publicKeyLine(key.publicJwk);
    if (args.values.json === true) {
      io.stdout(`${JSON.stringify({ kid: key.kid, jwk: key.publicJwk, line, pem: key.publicPem }, null, 2)}\n`);
    } else {
      io.stdout(`${line}\nkid: ${key.kid}\n\n${key.publicPem.trimEnd()}\n`);
    }
    return EXIT_OK;
  },
};
