import type { PolicyRuleConfig } from '../config/schema.js';
import { formatPath, parseJsonPath, PathSet, type PathStates, type PathStep } from '../masking/json-path.js';
import { compilePathGlobs, type BodyFields, type HttpRequestClass } from './http-request.js';

// The HTTP dimensions of a rule (`methods`, `paths`, `fields`), compiled once, with the same
// semantics as the SQL ones (policy-engine.ts): deny and approve rules match when the request
// hits ANY listed method, ANY listed path glob (on any reading of the path) and ANY listed field;
// allow rules cover a request only when its method is listed, its path (as forwarded, exactly)
// matches, and ALL the fields its body sets are listed (or lie under a listed field).

export interface CompiledHttpMatch {
  readonly methods?: ReadonlySet<string>;
  readonly paths?: RegExp;
  readonly fields?: PathSet;
}

/** What a deny/approve rule hit, for its trace line and reason. */
export interface HttpHit {
  readonly method?: string;
  readonly path?: string;
  readonly field?: string;
  /** The field hit stands for a body that was not read or cannot be: the rule matched to fail closed. */
  readonly assumed?: boolean;
}

/** The rule's HTTP dimensions compiled, or undefined when it lists none. */
export function compileHttpMatch(rule: PolicyRuleConfig): CompiledHttpMatch | undefined {
  const { methods, paths, fields } = rule.match;
  if (methods === undefined && paths === undefined && fields === undefined) return undefined;
  // A deny for `/Admin` must not miss `/admin`, nor one for `$.Role` a body's `role`; an allow stays exact.
  const ignoreCase = rule.effect !== 'allow';
  return {
    ...(methods ? { methods: new Set(methods) } : {}),
    ...(paths ? { paths: compilePathGlobs(paths, { ignoreCase }) } : {}),
    ...(fields ? { fields: new PathSet(fields.map(parseJsonPath), { ignoreCase }) } : {}),
  };
}

/** True when the rule lists SQL dimensions: it never matches an HTTP request. */
export function hasSqlDimensions(rule: PolicyRuleConfig): boolean {
  return rule.match.kinds !== undefined || rule.match.relations !== undefined || rule.match.flags !== undefined;
}

/** deny/approve: each listed dimension must be hit by the request; returns what it hit. */
export function restrictiveHttpHit(match: CompiledHttpMatch | undefined, request: HttpRequestClass): HttpHit | undefined {
  if (!match) return {};
  let path: string | undefined;
  let field: string | undefined;
  if (match.methods && !match.methods.has(request.method)) return undefined;
  if (match.paths) {
    const paths = match.paths;
    path = paths.test(request.path) ? request.path : request.pathViews.find((view) => paths.test(view));
    if (path === undefined) return undefined;
  }
  if (match.fields) {
    field = fieldHit(match.fields, request.fields);
    if (field === undefined) return undefined;
  }
  const assumed = match.fields !== undefined && request.fields?.kind !== 'json';
  return { ...(match.methods ? { method: request.method } : {}), ...(path !== undefined ? { path } : {}), ...(field !== undefined ? { field } : {}), ...(assumed ? { assumed } : {}) };
}

/** allow: what the rule leaves uncovered (`method DELETE`, `path /admin`, `field $.role`), or undefined when it covers the request. */
export function uncoveredHttp(match: CompiledHttpMatch | undefined, request: HttpRequestClass): string | undefined {
  if (!match) return undefined;
  if (match.methods && !match.methods.has(request.method)) return `method ${request.method}`;
  if (match.paths && !match.paths.test(request.path)) return `path ${request.path}`;
  if (match.fields) return uncoveredField(match.fields, request.fields);
  return undefined;
}

/** The rule names fields and could apply to this request once its body is read. */
export function wantsFields(match: CompiledHttpMatch | undefined, restrictive: boolean, request: HttpRequestClass): boolean {
  if (!match?.fields) return false;
  if (match.methods && !match.methods.has(request.method)) return false;
  if (!match.paths) return true;
  const paths = match.paths;
  return paths.test(request.path) || (restrictive && request.pathViews.some((view) => paths.test(view)));
}

/** The first field of the body a listed path matches; a body whose fields cannot be read hits (fail closed). */
function fieldHit(fields: PathSet, body: BodyFields | undefined): string | undefined {
  if (body === undefined) return '(the body was not read)';
  switch (body.kind) {
    case 'empty':
      return undefined;
    case 'unknown':
      return `(${body.why})`;
    case 'json': {
      let found: string | undefined;
      walk(fields, body.value, (steps, states) => {
        if (states.matched.length === 0) return states.states.length > 0 ? true : 'skip';
        found = formatPath(steps);
        return false;
      });
      return found;
    }
  }
}

/** The first field the body sets that no listed path covers (itself or an enclosing field). */
function uncoveredField(fields: PathSet, body: BodyFields | undefined): string | undefined {
  if (body === undefined) return 'fields (the body was not read)';
  switch (body.kind) {
    case 'empty':
      return undefined;
    case 'unknown':
      return `fields (${body.why})`;
    case 'json': {
      let missing: string | undefined;
      walk(fields, body.value, (steps, states, leaf) => {
        // A matched node covers everything below it.
        if (states.matched.length > 0) return 'skip';
        if (!leaf) return true;
        missing = `field ${formatPath(steps)}`;
        return false;
      });
      return missing;
    }
  }
}

type Visit = (steps: readonly PathStep[], states: PathStates, leaf: boolean) => boolean | 'skip';

/**
 * Visits every node of a parsed JSON value depth-first (root first) with its path states, on an
 * explicit stack (bodies are bounded by the resource's buffer_limit, but nesting is not).
 * The visitor returns false to stop, 'skip' to skip the node's children.
 */
function walk(fields: PathSet, root: unknown, visit: Visit): void {
  const stack: { value: unknown; steps: PathStep[]; states: PathStates }[] = [{ value: root, steps: [], states: fields.root }];
  while (stack.length > 0) {
    const { value, steps, states } = stack.pop()!;
    const children = childrenOf(value);
    const verdict = visit(steps, states, children === undefined || children.length === 0);
    if (verdict === false) return;
    if (verdict === 'skip' || !children) continue;
    for (let i = children.length - 1; i >= 0; i--) {
      const [step, child] = children[i]!;
      stack.push({ value: child, steps: [...steps, step], states: fields.step(states, step) });
    }
  }
}

function childrenOf(value: unknown): (readonly [PathStep, unknown])[] | undefined {
  if (Array.isArray(value)) return value.map((item, index) => [index, item] as const);
  if (value !== null && typeof value === 'object') return Object.keys(value).map((key) => [key, (value as Record<string, unknown>)[key]] as const);
  return undefined;
}
