import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { readPublicKey } from '../../audit/signing-key.js';
import { verifyGateways, verifyStore } from '../../audit/verify-store.js';
import { verifyBundle } from '../../common/bundle-verify.js';
import { parsePublicKey, type Ed25519PublicJwk } from '../../common/checkpoint-verify.js';
import { stringOption, type Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK, UsageError, type CliIo } from '../io.js';
import { withReader } from './sessions.js';

// `sluice verify` checks the live store's chains and checkpoints, or, given a FILE, an exported
// bundle offline.

export const verifyCommand: Command = {
  words: ['verify'],
  summary: "check the audit store's hash chains, ledger and signed checkpoints; report the first broken link",
  usage: '[FILE.sluice] [--config FILE] [--key PUBKEY|FILE] [--json]',
  details: [
    'Reads the audit store of the config (--config, else $SLUICE_CONFIG, else ./sluice.yaml), also',
    'while `sluice serve` writes it, and checks every event chain, every session seal, the ledger',
    'of session starts and seals, and every checkpoint signature. Exit 0 when all holds; exit 1',
    'with the first broken link (session, seq or ledger entry, and what differs).',
    '--key: the public key (sluice-ed25519:… line, JWK, or a file holding one) you trust; without',
    "it the key in data_dir is used, which someone able to rewrite the store could replace too.",
    'A store several gateways share (audit.store: postgres://…) is checked gateway by gateway, each',
    'with its own key: the one it registered in the store, or, pinned, those given with --key',
    '(repeat it, one per gateway).',
    'FILE.sluice: check a bundle from `sluice export` instead, offline (no config, no store).',
    'Without --key its signatures are checked with the key the bundle names, which proves it',
    'is intact but not who wrote it: pass the key you trust.',
  ],
  options: { config: { type: 'string', short: 'c' }, key: { type: 'string', multiple: true }, json: { type: 'boolean' } },
  maxPositionals: 1,
  run: async (args, io) => {
    const bundle = args.positionals[0];
    if (bundle !== undefined && stringOption(args, 'config') !== undefined) {
      throw new UsageError('sluice verify: --config is for the live store; a bundle is checked on its own', 'drop --config');
    }
    const givenKeys = (args.values.key as string[] | undefined) ?? [];
    const keys: Ed25519PublicJwk[] = [];
    for (const text of givenKeys) {
      const parsed = await trustedKey(text, io);
      if (!parsed) return EXIT_FAILED;
      keys.push(parsed);
    }
    const given = givenKeys[0];
    const key = keys[0];
    if (bundle !== undefined) {
      if (keys.length > 1) throw new UsageError('sluice verify: a bundle is signed by one key; pass one --key', 'drop the other --key options');
      return verifyBundleFile(resolve(io.cwd, bundle), key, args.values.json === true, io);
    }
    return withReader(args, io, async (reader, dataDir) => {
      if (reader.gateways) return verifySharedStore(reader as Parameters<typeof verifyGateways>[0], keys, args.values.json === true, io);
      if (keys.length > 1) throw new UsageError('sluice verify: this store has one gateway; pass one --key', 'drop the other --key options');
      const jwk: Ed25519PublicJwk = key ?? (await readPublicKey(dataDir)).publicJwk;
      const result = await verifyStore(reader, jwk);
      if (args.values.json === true) {
        io.stdout(`${JSON.stringify(result, null, 2)}\n`);
      } else if (result.ok) {
        const checkpoint = result.lastCheckpoint ? `; last checkpoint ${new Date(result.lastCheckpoint.time).toISOString()} covers ledger entry ${result.lastCheckpoint.ledgerN}` : '; no checkpoint yet';
        io.stdout(`verified ${reader.file}: ${result.sessions} sessions, ${result.events} events, ${result.ledger} ledger entries, ${result.checkpoints} checkpoints${result.pruned > 0 ? `, ${result.pruned} sessions removed by retention (signed)` : ''}${checkpoint}\n`);
        if (given === undefined) io.stdout('key: the one in data_dir; pass --key with the public key you trust (sluice key show) for a check a replaced key file cannot pass\n');
      } else {
        const where = [result.problem.session_id && `session ${result.problem.session_id}`, result.problem.seq !== undefined && `seq ${result.problem.seq}`, result.problem.ledger_n !== undefined && `ledger entry ${result.problem.ledger_n}`].filter(Boolean).join(', ');
        io.stderr(`sluice: verification FAILED${where ? ` at ${where}` : ''}: ${result.problem.message}\n`);
      }
      return result.ok ? EXIT_OK : EXIT_FAILED;
    });
  },
};

/** Checks a shared store gateway by gateway; one line per gateway, exit 1 when any fails. */
async function verifySharedStore(reader: Parameters<typeof verifyGateways>[0], keys: readonly Ed25519PublicJwk[], json: boolean, io: CliIo): Promise<number> {
  const results = await verifyGateways(reader, keys.length > 0 ? keys : undefined);
  if (json) {
    io.stdout(`${JSON.stringify(results, null, 2)}\n`);
  } else {
    if (results.length === 0) io.stdout(`verified ${reader.file}: no gateway has recorded anything yet\n`);
    for (const result of results) {
      const who = `gateway ${result.gateway} (${result.name})`;
      if (result.ok) {
        io.stdout(`verified ${who}: ${result.sessions} sessions, ${result.events} events, ${result.ledger} ledger entries, ${result.checkpoints} checkpoints${result.pruned > 0 ? `, ${result.pruned} sessions removed by retention (signed)` : ''}\n`);
      } else {
        const where = [result.problem.session_id && `session ${result.problem.session_id}`, result.problem.seq !== undefined && `seq ${result.problem.seq}`, result.problem.ledger_n !== undefined && `ledger entry ${result.problem.ledger_n}`].filter(Boolean).join(', ');
        io.stderr(`sluice: ${who}: verification FAILED${where ? ` at ${where}` : ''}: ${result.problem.message}\n`);
      }
    }
    if (keys.length === 0 && results.length > 0) io.stdout('keys: those the gateways registered in the store; pass --key (one per gateway, from `sluice key show` on each) for a check a rewritten store cannot pass\n');
  }
  return results.every((result) => result.ok) ? EXIT_OK : EXIT_FAILED;
}

/** Checks a bundle from `sluice export`; reports like the live check, plus whether the key was trusted. */
async function verifyBundleFile(path: string, key: Ed25519PublicJwk | undefined, json: boolean, io: CliIo): Promise<number> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    io.stderr(`sluice verify: cannot read bundle ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}\n`);
    return EXIT_FAILED;
  }
  const report = await verifyBundle(text, key);
  const untrusted = 'signature checked with the key the bundle names, not one you trust; pass --key with the public key from `sluice key show`';
  if (json) {
    // The records themselves are the bundle's to show (sluice replay); here only the verdict.
    const verdict = report.ok
      ? { ok: true, keyTrusted: report.keyTrusted, manifest: report.manifest, ...(report.keyTrusted ? {} : { warning: untrusted }) }
      : { ok: false, problem: report.problem };
    io.stdout(`${JSON.stringify(verdict, null, 2)}\n`);
  } else if (report.ok) {
    const { counts, partial, created, kid } = report.manifest;
    const newest = report.checkpoints.at(-1);
    const checkpoint = newest ? `; last checkpoint ${new Date(newest.time).toISOString()} covers ledger entry ${newest.ledger_n}` : '; no checkpoint';
    io.stdout(`verified bundle ${path}: ${counts.sessions} sessions${partial ? ' (filtered)' : ''}, ${counts.events} events, ${counts.ledger} ledger entries, ${counts.checkpoints} checkpoints${checkpoint}\n`);
    io.stdout(`exported ${new Date(created).toISOString()}, signed by key ${kid}${report.ledgerKid !== kid ? `; ledger and checkpoints of gateway ${report.ledgerKid}, whose key the signed manifest names` : ''}\n`);
    io.stdout(report.keyTrusted ? `key: the one you gave (${kid})\n` : `key: ${untrusted}\n`);
  } else {
    io.stderr(`sluice: bundle ${path}: verification FAILED (${report.problem.what}): ${report.problem.message}\n`);
  }
  return report.ok ? EXIT_OK : EXIT_FAILED;
}

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
