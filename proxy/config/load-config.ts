import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { isMap, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { configSchema, crossReferenceProblems, type Config } from './schema.js';
import { knownKeysAt, suggestKey } from './key-suggestions.js';
import { isSecret } from './secret.js';
import { resolveSecretReferences, type ConfigPath } from './secret-refs.js';

export interface ConfigIssue {
  /** Key path like `resources[1].upstream`; empty for the whole file. */
  readonly path: string;
  readonly message: string;
  /** 1-based line in the YAML file, when the key (or its nearest parent) has one. */
  readonly line?: number;
}

/** Every problem with a config file, reported together. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly issues: readonly ConfigIssue[],
  ) {
    super(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'}\n${issues.map((issue) => formatIssue(file, issue)).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadedConfig {
  readonly config: Config;
  readonly file: string;
  /** Things that work but should change, e.g. a secret written inline. */
  readonly warnings: readonly ConfigIssue[];
}

export interface LoadOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** False validates secret references without reading them (the secrets may live elsewhere); a function reads only the keys it accepts. */
  readonly resolveSecrets?: boolean | ((path: readonly (string | number)[]) => boolean);
}

export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(file, [{ path: '', message: `cannot read the config file (${code})` }]);
  }
  return parseConfig(source, { ...options, file: resolve(file) });
}

/** Parses and validates config text; relative paths resolve against the file's directory. */
export function parseConfig(source: string, options: LoadOptions & { readonly file: string }): LoadedConfig {
  const label = basename(options.file);
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      label,
      doc.errors.map((error) => ({ path: '', message: `invalid YAML: ${firstLine(error.message)}`, line: lineCounter.linePos(error.pos[0]).line })),
    );
  }
  let tree: unknown;
  try {
    // toJS resolves aliases: an undefined one, or too many (an alias bomb), throws here.
    tree = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new ConfigError(label, [{ path: '', message: `invalid YAML: ${firstLine(error instanceof Error ? error.message : String(error))}` }]);
  }
  if (typeof tree !== 'object' || Array.isArray(tree)) {
    throw new ConfigError(label, [{ path: '', message: 'the file must hold a mapping of keys (data_dir, listen, resources, ...)', line: 1 }]);
  }

  const baseDir = dirname(options.file);
  const lineOf = (path: ConfigPath) => lineOfPath(doc, lineCounter, path);
  const refs = resolveSecretReferences(tree, { env: options.env ?? process.env, baseDir, resolve: options.resolveSecrets ?? true });
  const issues: ConfigIssue[] = refs.problems.map((problem) => ({
    path: formatPath(problem.path),
    message: problem.message,
    line: lineOf(problem.path),
  }));

  const parsed = configSchema.safeParse(refs.value);
  if (!parsed.success) issues.push(...parsed.error.issues.flatMap((issue) => toConfigIssues(issue, refs.value, lineOf)));
  for (const problem of crossReferenceProblems(refs.value)) {
    issues.push({ path: formatPath(problem.path), message: problem.message, line: lineOf(problem.path) });
  }
  if (issues.length > 0 || !parsed.success) throw new ConfigError(label, sortIssues(issues));

  return {
    config: resolvePaths(parsed.data, baseDir),
    file: options.file,
    warnings: inlineSecretWarnings(parsed.data).map((path) => ({
      path: formatPath(path),
      message: 'secret written inline in the config file; use ${env:NAME} or ${file:PATH}',
      line: lineOf(path),
    })),
  };
}

export function formatIssue(file: string, issue: ConfigIssue): string {
  const where = issue.line === undefined ? file : `${file}:${issue.line}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/** ['resources', 1, 'upstream'] -> "resources[1].upstream" */
export function formatPath(path: ConfigPath): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${part}` : part),
    '',
  );
}

function toConfigIssues(
  issue: z.core.$ZodIssue,
  tree: unknown,
  lineOf: (path: ConfigPath) => number | undefined,
  prefix: ConfigPath = [],
): ConfigIssue[] {
  const path = [...prefix, ...issue.path.filter((part): part is string | number => typeof part !== 'symbol')];
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(configSchema, path);
    return issue.keys.map((key) => {
      const suggestion = suggestKey(key, known);
      const message = suggestion ? `unknown key (did you mean "${suggestion}"?)` : `unknown key (known here: ${known.join(', ')})`;
      return { path: formatPath([...path, key]), message, line: lineOf([...path, key]) };
    });
  }
  if (issue.code === 'invalid_union') {
    // "host:port or { address, tls }": report the branch the value was meant for, i.e. the first
    // one that did not fail on the value's type alone.
    const meant = issue.errors.find((branch) => !branch.every((sub) => sub.code === 'invalid_type' && sub.path.length === 0));
    if (meant) return meant.flatMap((sub) => toConfigIssues(sub, tree, lineOf, path));
  }
  if (issue.code === 'invalid_type' && valueAt(tree, path) === undefined) {
    return [{ path: formatPath(path), message: 'required', line: lineOf(path) }];
  }
  return [{ path: formatPath(path), message: issue.message, line: lineOf(path) }];
}

/** The line of the key at `path`, or of its nearest ancestor that exists in the file. */
function lineOfPath(doc: Document, lineCounter: LineCounter, path: ConfigPath): number | undefined {
  for (let depth = path.length; depth > 0; depth--) {
    const parent = depth === 1 ? doc.contents : doc.getIn(path.slice(0, depth - 1), true);
    const key = path[depth - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
      const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
      if (range) return lineCounter.linePos(range[0]).line;
    } else {
      const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return lineCounter.linePos(node.range[0]).line;
    }
  }
  return undefined;
}

function valueAt(tree: unknown, path: ConfigPath): unknown {
  return path.reduce<unknown>((node, key) => (node !== null && typeof node === 'object' ? (node as Record<string | number, unknown>)[key] : undefined), tree);
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return [...issues].sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER));
}

function resolvePaths(config: Config, baseDir: string): Config {
  const at = (path: string) => (isAbsolute(path) ? path : resolve(baseDir, path));
  const listener = <T extends { tls: unknown }>(l: T | undefined): T | undefined => {
    if (!l || typeof l.tls !== 'object' || l.tls === null) return l;
    const tls = l.tls as { cert: string; key: string };
    return { ...l, tls: { cert: at(tls.cert), key: at(tls.key) } };
  };
  return {
    ...config,
    data_dir: at(config.data_dir),
    listen: {
      ...config.listen,
      postgres: listener(config.listen.postgres),
      http: listener(config.listen.http),
      api: listener(config.listen.api),
    },
    identity: {
      ...config.identity,
      oidc: config.identity.oidc.map((issuer) => (issuer.jwks_file ? { ...issuer, jwks_file: at(issuer.jwks_file) } : issuer)),
    },
    resources: config.resources.map((resource) => {
      if (resource.type === 'postgres' && resource.ca) return { ...resource, ca: at(resource.ca) };
      if (resource.type === 'exec' && resource.cwd) return { ...resource, cwd: at(resource.cwd) };
      return resource;
    }),
  };
}

function inlineSecretWarnings(config: Config): ConfigPath[] {
  const found: ConfigPath[] = [];
  const walk = (node: unknown, path: ConfigPath): void => {
    if (isSecret(node)) {
      if (node.source === 'inline') found.push(path);
    } else if (Array.isArray(node)) {
      node.forEach((item, index) => walk(item, [...path, index]));
    } else if (node !== null && typeof node === 'object') {
      Object.entries(node).forEach(([key, value]) => walk(value, [...path, key]));
    }
  };
  walk(config, []);
  return found;
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? text;
}
