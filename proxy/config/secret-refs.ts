import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Secret } from './secret.js';

/** `${env:NAME}` or `${file:PATH}`; `$${` writes a literal `${`. */
const REFERENCE = /\$?\$\{(env|file):([^}]*)\}/g;

export type ConfigPath = readonly (string | number)[];

export interface ReferenceProblem {
  readonly path: ConfigPath;
  readonly message: string;
}

export interface ResolveOptions {
  readonly env: NodeJS.ProcessEnv;
  /** Directory `${file:relative}` paths are resolved against (the config file's). */
  readonly baseDir: string;
  /**
   * False checks references' syntax only (e.g. `check-config --skip-secrets` where secrets are
   * absent); a function resolves only the keys it accepts (the CLI reading a shared audit store
   * needs `audit.store`, not the resources' passwords).
   */
  readonly resolve: boolean | ((path: ConfigPath) => boolean);
}

/**
 * Replaces every string that holds a secret reference with a Secret of the whole resolved
 * string ("Bearer ${env:TOKEN}" becomes one Secret). Returns the new tree and every problem
 * found, so all missing secrets are reported at once.
 */
export function resolveSecretReferences(tree: unknown, options: ResolveOptions): { value: unknown; problems: ReferenceProblem[] } {
  const problems: ReferenceProblem[] = [];
  const walk = (node: unknown, path: ConfigPath): unknown => {
    if (typeof node === 'string') return resolveString(node, path, options, problems);
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value, [...path, key])]));
    }
    return node;
  };
  return { value: walk(tree, []), problems };
}

function resolveString(input: string, path: ConfigPath, options: ResolveOptions, problems: ReferenceProblem[]): string | Secret {
  const sources: string[] = [];
  const resolved = input.replace(REFERENCE, (whole: string, kind: string, target: string) => {
    if (whole.startsWith('$$')) return whole.slice(1);
    sources.push(`${kind}:${target}`);
    if (options.resolve === false || (typeof options.resolve === 'function' && !options.resolve(path))) return '';
    const value = kind === 'env' ? readEnv(target, options.env) : readSecretFile(target, options.baseDir);
    if (typeof value === 'string') return value;
    problems.push({ path, message: value.problem });
    return '';
  });
  if (sources.length === 0) return resolved;
  return new Secret(resolved, sources.join('+'));
}

function readEnv(name: string, env: NodeJS.ProcessEnv): string | { problem: string } {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return { problem: `\${env:${name}}: not an environment variable name` };
  const value = env[name];
  if (value === undefined) return { problem: `environment variable ${name} is not set (referenced as \${env:${name}})` };
  if (value === '') return { problem: `environment variable ${name} is empty (referenced as \${env:${name}})` };
  return value;
}

function readSecretFile(file: string, baseDir: string): string | { problem: string } {
  if (file.trim() === '') return { problem: '${file:}: names no file' };
  try {
    // One trailing newline is how editors and `echo` end files; it is never part of the secret.
    const value = readFileSync(resolve(baseDir, file), 'utf8').replace(/\r?\n$/, '');
    return value === '' ? { problem: `secret file ${file} is empty` } : value;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    return { problem: `secret file ${file} cannot be read (${code})` };
  }
}
