import { resolve } from 'node:path';
import { ConfigError, formatIssue, loadConfig } from '../../config/load-config.js';
import type { Config } from '../../config/schema.js';
import { formatDuration } from '../../config/units.js';
import { stringOption, type Command } from '../command.js';
import { EXIT_FAILED, EXIT_OK } from '../io.js';

export const checkConfigCommand: Command = {
  words: ['check-config'],
  summary: 'validate a sluice.yaml and print a summary, or every problem in it',
  usage: '[FILE] [--skip-secrets]',
  details: [
    'FILE defaults to --config, then $SLUICE_CONFIG, then ./sluice.yaml.',
    '--skip-secrets  check ${env:…}/${file:…} references without reading them (for a CI',
    '                lint step where the secrets are not present).',
  ],
  options: { config: { type: 'string', short: 'c' }, 'skip-secrets': { type: 'boolean' } },
  maxPositionals: 1,
  async run(args, io) {
    const file = resolve(io.cwd, args.positionals[0] ?? stringOption(args, 'config') ?? io.env.SLUICE_CONFIG ?? 'sluice.yaml');
    try {
      const loaded = await loadConfig(file, { env: io.env, resolveSecrets: args.values['skip-secrets'] !== true });
      io.stdout(`ok: ${file}\n${summarize(loaded.config).map((line) => `  ${line}\n`).join('')}`);
      for (const warning of loaded.warnings) io.stderr(`warning: ${formatIssue(file, warning)}\n`);
      return EXIT_OK;
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const issue of error.issues) io.stderr(`${formatIssue(file, issue)}\n`);
      const count = error.issues.length;
      io.stderr(`${count} problem${count === 1 ? '' : 's'} in ${file}: fix ${count === 1 ? 'it' : 'them'} and run 'sluice check-config' again\n`);
      return EXIT_FAILED;
    }
  },
};

function summarize(config: Config): string[] {
  const listeners = Object.entries(config.listen)
    .flatMap(([name, listener]) =>
      typeof listener === 'object' && listener ? [`${name} ${formatAddress(listener.address)} (tls ${typeof listener.tls === 'string' ? listener.tls : 'files'})`] : [],
    )
    .join(', ');
  const resources = config.resources.map((r) => `${r.name} (${r.type})`).join(', ');
  const issuers = config.identity.oidc.map((o) => o.issuer).join(', ');
  return [
    `data_dir: ${config.data_dir}`,
    `listeners: ${listeners || 'none'}`,
    `resources: ${config.resources.length}${resources ? ` — ${resources}` : ''}`,
    `identity: ${plural(config.identity.tokens.length, 'static token')}, ${plural(config.identity.oidc.length, 'OIDC issuer')}${issuers ? ` — ${issuers}` : ''}`,
    `policy: ${plural(config.policy.length, 'rule')} (default deny); masking: ${plural(config.masking.length, 'rule')}`,
    `approvals: timeout ${formatDuration(config.approvals.timeout)}, quorum ${config.approvals.quorum}, self-approval ${config.approvals.self_approval ? 'allowed' : 'refused'}`,
    `audit: ${config.audit.store === 'sqlite' ? 'sqlite' : 'postgres'}, ${config.audit.durability}, retention ${formatDuration(config.audit.retention)}`,
  ];
}

function formatAddress(address: { host: string; port: number }): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
