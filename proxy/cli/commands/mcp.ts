import { resolve } from 'node:path';
import { formatIssue } from '../../config/load-config.js';
import { startEngine } from '../../engine/engine.js';
import { createLogger } from '../../engine/logger.js';
import { bridgeStdio, serveStdio } from '../../mcp/mcp-stdio.js';
import { callerCredential, IdentityUnavailable } from '../../run/ci-identity.js';
import { stringOption, type Command } from '../command.js';
import { loadConfigOrReport } from '../config-file.js';
import { EXIT_FAILED, UsageError } from '../io.js';

// `sluice mcp`: the MCP gateway over stdio for agents that launch a local command (Claude Desktop,
// IDE agents, an agent inside `sluice run`). Stdout is the protocol: logs go to stderr only.

export const mcpCommand: Command = {
  words: ['mcp'],
  summary: 'serve the MCP gateway over stdio (to a running gateway, or embedded) for an agent',
  usage: '[--gateway URL | --config FILE] [--token-file FILE]',
  details: [
    'Identity: --token-file, else $SLUICE_TOKEN (a token or an OIDC JWT), else on GitHub Actions',
    "the job's OIDC id token (--audience, else $SLUICE_OIDC_AUDIENCE, else \"sluice\").",
    "Gateway: --gateway URL (else $SLUICE_URL): a running gateway's api listener; its /mcp serves",
    'the session. Or --config FILE: an engine in this process serves it (its listeners start too).',
    'Tools: list_resources, describe_resource, query, http_request, approval_status: only those',
    'your policy allows. Every session is recorded (protocol mcp). Stdout carries only MCP.',
  ],
  options: {
    gateway: { type: 'string' },
    config: { type: 'string', short: 'c' },
    'token-file': { type: 'string' },
    audience: { type: 'string' },
  },
  async run(args, io) {
    const url = stringOption(args, 'gateway') ?? io.env.SLUICE_URL;
    const config = stringOption(args, 'config');
    if (url !== undefined && config !== undefined) throw new UsageError('sluice mcp: --gateway and --config contradict each other', 'pass --gateway URL for a running gateway, or --config FILE to embed one');
    if (url === undefined && config === undefined) throw new UsageError('sluice mcp: which gateway?', 'pass --gateway URL (or set $SLUICE_URL), or --config FILE to embed one');
    let credential: string;
    try {
      const audience = stringOption(args, 'audience') ?? io.env.SLUICE_OIDC_AUDIENCE ?? 'sluice';
      credential = (await callerCredential({ env: io.env, cwd: io.cwd, tokenFile: stringOption(args, 'token-file'), audience })).credential;
    } catch (error) {
      if (!(error instanceof IdentityUnavailable)) throw error;
      io.stderr(`sluice mcp: ${error.message}\n`);
      return EXIT_FAILED;
    }
    if (url !== undefined) {
      let base: URL;
      try {
        base = new URL(url);
      } catch {
        throw new UsageError(`sluice mcp: ${JSON.stringify(url.slice(0, 200))} is not a URL`, 'pass the gateway api listener, e.g. --gateway https://gateway.internal:7070');
      }
      await bridgeStdio(new URL('/mcp', base), credential);
      return 0;
    }
    const file = resolve(io.cwd, config!);
    const loaded = await loadConfigOrReport(file, io);
    if (!loaded) return EXIT_FAILED;
    for (const warning of loaded.warnings) io.stderr(`warning: ${formatIssue(file, warning)}\n`);
    const engine = await startEngine(loaded.config, { log: createLogger((line) => io.stderr(line), 'text'), configFile: file, env: io.env });
    try {
      await serveStdio(engine, credential);
    } catch (error) {
      io.stderr(`sluice mcp: ${(error as Error).message}\n`);
      return EXIT_FAILED;
    } finally {
      await engine.close();
    }
    return 0;
  },
};
