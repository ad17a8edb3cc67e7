import { readFile } from 'node:fs/promises';
import { readPublicKey } from '../../audit/signing-key.js';
import { verifyStore } from '../../audit/verify-store.js';
import { parsePublicKey, type Ed25519PublicJwk } from '../../common/checkpoint-verify.js';
import type { Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, type CliIo } from '../io.js';
import { withReader } from './sessions.js';

// `sluice verify` checks the live store's chains and checkpoints (bundles arrive with export).

export const verifyCommand: Command = {
  words: ['verify'],
  summary: "check the audit store's hash chains, ledger and signed checkpoints; report the first broken link",
  usage: '[--config FILE] [--key PUBKEY|FILE] [--json]',
  details: [
    'Reads the audit store of the config (--config, else $SLUICE_CONFIG, else ./sluice.yaml), also',
    'while `sluice serve` writes it, and checks every event chain, every session seal, the ledger',
    'of session starts and seals, and every checkpoint signature. Exit 0 when all holds; exit 1',
    'with the first broken link (session, seq or ledger entry, and what differs).',
    '--key: the public key (sluice-ed25519:… line, JWK, or a file holding one) you trust; without',
    "it the key in data_dir is used, which someone able to rewrite the store could replace too.",
  ],
  options: { config: { type: 'string', short: 'c' }, key: { type: 'string' }, json: { type: 'boolean' } },
  run: (args, io) =>
    withReader(args, io, async (reader, dataDir) => {
      const given = typeof args.values.key === 'string' ? args.values.key : undefined;
      const key = given === undefined ? undefined : await trustedKey(given, io);
      if (given !== undefined && !key) return EXIT_FAILED;
      const jwk: Ed25519PublicJwk = key ?? (await readPublicKey(dataDir)).publicJwk;
      const result = await verifyStore(reader, jwk);
      if (args.values.json === true) {
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      } else if (result.ok) {
        const checkpoint = result.lastCheckpoint ? `; last checkpoint ${new Date(result.lastCheckpoint.time).toISOString()} covers ledger entry ${result.lastCheckpoint.ledgerN}` : '; no checkpoint yet';
        io.stdout(`verified ${reader.file}: ${result.sessions} sessions, ${result.events} events, ${result.ledger} ledger entries, ${result.checkpoints} checkpoints${checkpoint}\n`);
        if (given === undefined) io.stdout('key: the one in data_dir; pass --key with the public key you trust (sluice key show) for a check a replaced key file cannot pass\n');
      } else {
        const where = [result.problem.session_id && `session ${result.problem.session_id}`, result.problem.seq !== undefined && `seq ${result.problem.seq}`, result.problem.ledger_n !== undefined && `ledger entry ${result.problem.ledger_n}`].filter(Boolean).join(', ');
        io.stderr(`sluice: verification FAILED${where ? ` at ${where}` : ''}: ${result.problem.message}\n`);
      }
      return result.ok ? EXIT_OK : EXIT_FAILED;
    }),
};

/** The key as given: inline (line or JWK), or a file holding one. */
async function trustedKey(given: string, io: CliIo): Promise<Ed25519PublicJwk | undefined> {
  const text = given.startsWith('sluice-ed25519:') || given.trimStart().startsWith('{') ? given : await readFile(given, 'utf8').catch(() => undefined);
  if (text === undefined) {
    io.stderr(`sluice: --key: "${given}" is neither a public key (sluice-ed25519:…, JWK) nor a readable file\n`);
    return undefined;
  }
  try {
    return parsePublicKey(text.trim());
  } catch (error) {
    io.stderr(`sluice: --key: ${(error as Error).message}\n`);
    return undefined;
  }
}
