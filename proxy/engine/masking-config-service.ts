import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ApiFailure } from '../api/api-result.js';
import type { MaskingConfigService, MaskingRulesView, MaskingSaveResult } from '../api/api-contract.js';
import type { AuditStore } from '../audit/audit-types.js';
import { canonicalJson } from '../common/canonical-json.js';
import { ConfigWriteError, readConfigFile, replaceConfigFile, type ConfigFileState } from '../config/config-writer.js';
import { ConfigError, formatIssue, parseConfig, type ConfigIssue } from '../config/load-config.js';
import { MaskingSectionError, readMaskingSection, replaceMaskingSection } from '../config/masking-section.js';
import type { MaskingRuleConfig } from '../config/schema.js';
import { resolveSecretReferences } from '../config/secret-refs.js';
import { isSecret, type Secret } from '../config/secret.js';
import type { Identity } from '../identity/identity.js';
import { DETECTOR_NAMES, MASKING_STRATEGIES } from '../masking/masking-types.js';
import type { Logger } from './logger.js';

// The rule editor's back end: reads the `masking:` section of the gateway's config file and
// replaces it (validated like the whole file, written atomically with a backup, applied to new
// sessions, recorded as an audit event).

export interface MaskingConfigOptions {
  readonly file: string;
  readonly store: AuditStore;
  /** Sessions open now (they keep the rules they started with). */
  readonly openSessions: () => number;
  /** Puts validated rules in force for new sessions. */
  readonly apply: (rules: readonly MaskingRuleConfig[]) => void;
  readonly log: Logger;
  /** The environment `${env:X}` references resolve in, as `sluice serve` loads the file (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
}

export function maskingConfigService(options: MaskingConfigOptions): MaskingConfigService {
  const { file, store, log } = options;
  // Saves run one at a time: each reads the file the previous one wrote.
  let queue: Promise<unknown> = Promise.resolve();

  const read = async (): Promise<{ state: ConfigFileState; view: MaskingRulesView }> => {
    const state = await readConfigFile(file).catch((error: unknown) => {
      throw new ApiFailure('unavailable', (error as Error).message);
    });
    try {
      const section = readMaskingSection(state.content.toString('utf8'));
      return { state, view: { ...section, file, version: sha256(state.content), detectors: DETECTOR_NAMES, strategies: MASKING_STRATEGIES } };
    } catch (error) {
      if (error instanceof MaskingSectionError) throw new ApiFailure('unavailable', `${file}: ${error.message}; fix the file (sluice check-config ${file})`);
      throw error;
    }
  };

  const save = async (rules: readonly unknown[], caller: Identity, version: string | undefined): Promise<MaskingSaveResult> => {
    // Fail closed: a change the audit store cannot record is not made.
    if (store.failure) throw new ApiFailure('unavailable', 'the audit store is failing, so this change could not be recorded; the rules were not saved');
    refuseSecretReferences(rules);
    const { state, view: before } = await read();
    if (version !== undefined && version !== before.version) {
      throw new ApiFailure('conflict', `${file} changed since you loaded its masking rules (another save, or an edit by hand); reload the rules, then make your change again`);
    }
    const source = state.content.toString('utf8');
    let next: string;
    try {
      next = replaceMaskingSection(source, rules);
    } catch (error) {
      if (error instanceof MaskingSectionError) throw new ApiFailure('unavailable', `${file}: ${error.message}`);
      throw error;
    }
    const parsed = validate(next, resolve(file), options.env ?? process.env);

    let backup: string;
    try {
      ({ backup } = await replaceConfigFile(state, next));
    } catch (error) {
      if (!(error instanceof ConfigWriteError)) throw error;
      log.warn('masking rules not saved: the config file cannot be written', { subject: caller.subject, file, reason: error.message });
      throw new ApiFailure(error.problem === 'changed' ? 'conflict' : 'unavailable', `${error.message}. The rules in force are unchanged.`);
    }

    try {
      options.apply(parsed);
    } catch (error) {
      // The file holds rules the engine would not take: put the old file back rather than leave them apart.
      await replaceConfigFile({ ...state, content: Buffer.from(next, 'utf8') }, source).catch(() => undefined);
      log.error('masking rules saved but could not be applied; the previous file was restored', { subject: caller.subject, reason: (error as Error).message });
      throw new ApiFailure('internal', 'the new masking rules could not be put in force; the previous config file was restored and its rules stay in force');
    }

    const after = readMaskingSection(next);
    const names = ruleNames(after.rules);
    const diff = compare(before.rules, after.rules);
    const recording = store.beginSession({
      resource: 'sluice.config',
      protocol: 'http',
      identity: { subject: caller.subject, issuer: caller.issuer, method: caller.method, groups: caller.groups },
      clientAddress: 'engine API',
      application: 'masking.save',
    });
    await recording.event('config', {
      section: 'masking',
      file,
      backup,
      before_sha256: sha256(state.content),
      after_sha256: sha256(next),
      rules: names,
      ...diff,
      yaml: after.yaml,
    });
    await recording.end('closed', { statements: 0, errors: 0, rows: 0 });
    const openSessions = options.openSessions();
    log.info('masking rules saved', {
      subject: caller.subject,
      file,
      backup,
      rules: names.join(','),
      added: diff.added.join(',') || undefined,
      removed: diff.removed.join(',') || undefined,
      changed: diff.changed.join(',') || undefined,
      open_sessions: openSessions,
      audit_session: recording.id,
    });
    if (store.failure) log.error('the masking change was saved and applied but its audit record may be lost', { subject: caller.subject, audit_session: recording.id });
    return { ...after, file, version: sha256(next), detectors: DETECTOR_NAMES, strategies: MASKING_STRATEGIES, backup, auditSession: recording.id, openSessions };
  };

  return {
    current: async () => (await read()).view,
    save: (rules, caller, version) => {
      const run = queue.then(() => save(rules, caller, version));
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/**
 * Validates the whole new file as `sluice serve` would load it (secrets resolved, so a file the
 * gateway could not restart from is refused), and returns its masking rules. Problems in the
 * masking section are named by path (`masking[1].pattern: ...`) with the rule's name; problems
 * elsewhere were in the file already, and are reported without any secret value in them.
 */
function validate(source: string, path: string, env: NodeJS.ProcessEnv): readonly MaskingRuleConfig[] {
  try {
    return parseConfig(source, { file: path, env }).config.masking;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const masking = error.issues.filter((issue) => /^masking(\[|$)/.test(issue.path));
    if (masking.length > 0) {
      const rules = readMaskingSection(source).rules;
      throw new ApiFailure('invalid_input', `the masking rules are invalid: ${masking.map((issue) => describe(issue, rules)).join('; ')}`);
    }
    const secrets = secretsIn(source, path, env);
    const others = error.issues.map((issue) => {
      const text = formatIssue(basename(path), issue);
      return secrets.some((secret) => secret.occursIn(text)) ? `${issue.path || 'the file'}: a problem whose message would show a secret` : text;
    });
    // Not the editor's input at fault: the file around it, so the gateway cannot save until someone fixes it.
    throw new ApiFailure(
      'unavailable',
      `the config file ${path} would not load with these rules, for reasons outside masking: ${others.join('; ')}. Fix the file (sluice check-config ${path}) and save again.`,
    );
  }
}

/**
 * In the config file `${env:X}` / `${file:X}` is a secret reference: in a rule it would be
 * resolved when the file loads (reading any file the gateway may read), so the rule would not
 * say what the editor showed. Refused before anything is resolved.
 */
function refuseSecretReferences(rules: readonly unknown[]): void {
  const found: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (typeof node === 'string') {
      if (/(^|[^$])\$\{(env|file):/.test(node)) found.push(`${path}: holds a secret reference (\${env:…} or \${file:…}), which masking rules cannot use; write $\${ for a literal \${`);
    } else if (Array.isArray(node)) node.forEach((item, index) => walk(item, `${path}[${index}]`));
    else if (node !== null && typeof node === 'object') Object.entries(node).forEach(([key, value]) => walk(value, `${path}.${key}`));
  };
  rules.forEach((rule, index) => walk(rule, `masking[${index}]`));
  if (found.length > 0) throw new ApiFailure('invalid_input', `the masking rules are invalid: ${found.join('; ')}`);
}

function describe(issue: ConfigIssue, rules: readonly Readonly<Record<string, unknown>>[]): string {
  const index = /^masking\[(\d+)\]/.exec(issue.path)?.[1];
  const name = index === undefined ? undefined : rules[Number(index)]?.name;
  return `${issue.path}: ${issue.message}${typeof name === 'string' && name !== '' ? ` (rule "${name}")` : ''}`;
}

/** The secret values the file resolves to, so no message that carries one leaves the engine. */
function secretsIn(source: string, path: string, env: NodeJS.ProcessEnv): Secret[] {
  let tree: unknown;
  try {
    tree = parseDocument(source).toJS({ maxAliasCount: 100 });
  } catch {
    return [];
  }
  const found: Secret[] = [];
  const walk = (node: unknown): void => {
    if (isSecret(node)) found.push(node);
    else if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') Object.values(node).forEach(walk);
  };
  walk(resolveSecretReferences(tree, { env, baseDir: dirname(path), resolve: true }).value);
  return found;
}

function ruleNames(rules: readonly Readonly<Record<string, unknown>>[]): string[] {
  return rules.map((rule, index) => (typeof rule.name === 'string' ? rule.name : `#${index + 1}`));
}

/** Rule names added, removed, and changed (same name, different content). */
function compare(before: readonly Readonly<Record<string, unknown>>[], after: readonly Readonly<Record<string, unknown>>[]): { added: string[]; removed: string[]; changed: string[] } {
  const byName = (rules: readonly Readonly<Record<string, unknown>>[]) => new Map(rules.map((rule, index) => [typeof rule.name === 'string' ? rule.name : `#${index + 1}`, canonicalJson(rule)]));
  const old = byName(before);
  const next = byName(after);
  return {
    added: [...next.keys()].filter((name) => !old.has(name)),
    removed: [...old.keys()].filter((name) => !next.has(name)),
    changed: [...next].filter(([name, text]) => old.has(name) && old.get(name) !== text).map(([name]) => name),
  };
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
