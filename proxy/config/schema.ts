import { z } from 'zod';
import { STATEMENT_KINDS } from '../common/statement-kinds.js';
import { isHttpsOrLoopback, parseUrl } from '../common/urls.js';
import { patternProblem } from '../masking/custom-pattern.js';
import { jsonPathProblem } from '../masking/json-path.js';
import { DETECTOR_NAMES, MASKING_STRATEGIES } from '../masking/masking-types.js';
import { RESERVED_RULE_NAMES } from '../policy/gateway-decisions.js';
import { execArgsPatternProblem } from '../policy/exec-command.js';
import { httpMethodProblem, httpPathGlobProblem } from '../policy/http-request.js';
import { DEFAULT_DANGEROUS_FUNCTIONS } from '../sql/dangerous-functions.js';
import { STATEMENT_FLAGS } from '../sql/statement-class.js';
import { policyProblems } from './policy-checks.js';
import { Secret } from './secret.js';
import { parseDuration, parseHostPort, parseSize } from './units.js';

// The sluice.yaml schema. Objects are strict so a misspelt key is an error, not a silent
// default. Secret references (${env:X}, ${file:X}) arrive here already resolved into Secret
// objects (see secret-refs.ts); only fields declared with `secretValue` accept them.

const SECRET_NOT_ALLOWED = 'secret references (${env:…} / ${file:…}) are only allowed in secret fields';

const text = (what = 'a string') =>
  z.string({
    error: (issue) => (issue.input instanceof Secret ? SECRET_NOT_ALLOWED : `expected ${what}`),
  });

const nonEmptyText = (what?: string) => text(what).min(1, 'must not be empty');

const name = text('a name').regex(
  /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
  'must be 1-63 characters: letters, digits, "_", "-", "." (starting with a letter or digit)',
);

/** A secret field: a Secret from a reference, or a plain string (accepted, warned about). */
const secretValue = z.union([z.instanceof(Secret), z.string().transform((value) => new Secret(value, 'inline'))], {
  error: 'expected a string or a secret reference like ${env:NAME}',
});

const duration = (what: string) =>
  z.union([z.string(), z.number()], { error: `expected ${what} like "30s", "10m" or "90d"` }).transform((input, ctx) => {
    const ms = parseDuration(input);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${input}" is not ${what}; use a number with ms, s, m, h or d` });
      return z.NEVER;
    }
    return ms;
  });

const size = z.union([z.string(), z.number()], { error: 'expected a size like "50MB"' }).transform((input, ctx) => {
  const bytes = parseSize(input);
  if (bytes === undefined) {
    ctx.addIssue({ code: 'custom', message: `"${input}" is not a size; use bytes or a number with KB, MB, GB, KiB, MiB, GiB` });
    return z.NEVER;
  }
  return bytes;
});

const hostPort = text('host:port').transform((input, ctx) => {
  const parsed = parseHostPort(input);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: `"${input}" is not host:port (e.g. 127.0.0.1:6432 or [::1]:6432)` });
    return z.NEVER;
  }
  return parsed;
});

const listenerTls = z.union([
  z.enum(['auto', 'off']),
  z.strictObject({ cert: nonEmptyText('a file path'), key: nonEmptyText('a file path') }),
]);

/** A listener: "host:port" shorthand, or { address, tls }. */
const listener = z
  .union([text('host:port'), z.strictObject({ address: text('host:port'), tls: listenerTls.default('auto') })])
  .transform((input) => (typeof input === 'string' ? { address: input, tls: 'auto' as const } : input))
  .pipe(z.object({ address: hostPort, tls: listenerTls }));

const groupList = z.array(nonEmptyText('a group name'));

const httpUrl = (what: string) =>
  text(`${what} URL`).refine((input) => {
    const url = parseUrl(input);
    return url !== undefined && isHttpsOrLoopback(url);
  }, `must be an https:// URL (http:// only for a loopback host)`);

const TEMPLATE = /^(?:[^{}]|\{[A-Za-z_][A-Za-z0-9_.]*\})+$/;
const groupTemplate = text('a group template').regex(
  TEMPLATE,
  'not a group template: literal text with {claim} placeholders (e.g. "repo:{repository}")',
);

export const ASYMMETRIC_ALGORITHMS = [
  'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519',
] as const;

/** Claims kept on an OIDC identity when config does not list its own: GitHub Actions' useful set. */
export const DEFAULT_KEPT_CLAIMS = [
  'repository', 'repository_owner', 'repository_id', 'ref', 'ref_type', 'sha', 'environment', 'workflow',
  'workflow_ref', 'job_workflow_ref', 'event_name', 'runner_environment', 'actor', 'run_id', 'run_attempt',
] as const;

const oidcIssuer = z.strictObject({
  issuer: httpUrl('an issuer'),
  audience: z.union([nonEmptyText('an audience'), z.array(nonEmptyText('an audience')).min(1)]),
  groups: z.array(groupTemplate).default([]),
  claims: z.array(nonEmptyText('a claim name')).default([...DEFAULT_KEPT_CLAIMS]),
  discovery_url: httpUrl('a discovery').optional(),
  jwks_file: nonEmptyText('a file path').optional(),
  clock_skew: duration('a duration')
    .refine((ms) => ms <= 300_000, 'must be at most 5m: a larger skew accepts expired tokens')
    .default(60_000),
  jwks_cooldown: duration('a duration').default(30_000),
  algorithms: z.array(z.enum(ASYMMETRIC_ALGORITHMS, { error: `must be one of ${ASYMMETRIC_ALGORITHMS.join(', ')} (asymmetric only)` })).min(1).optional(),
});

const staticToken = z.strictObject({
  name,
  sha256: text('a sha256').regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters (from `sluice token create`)'),
  groups: groupList.default([]),
});

const identity = z.strictObject({
  oidc: z.array(oidcIssuer).default([]),
  tokens: z.array(staticToken).default([]),
});

const roles = z.strictObject({
  approvers: groupList.default(['approvers']),
  auditors: groupList.default(['auditors', 'approvers']),
  admins: groupList.default(['admins']),
});

const postgresUpstream = text('a postgres:// URL').superRefine((input, ctx) => {
  const url = parseUrl(input);
  if (!url || !isPostgresUrl(url) || !url.hostname) {
    ctx.addIssue({ code: 'custom', message: 'not a postgres:// URL (postgres://USER@HOST:PORT/DATABASE)' });
  } else if (url.password) {
    // Never echo the URL: it holds the password.
    ctx.addIssue({ code: 'custom', message: 'holds a password; move it to `password:` as ${env:NAME} or ${file:PATH}' });
  } else if (!url.username) {
    ctx.addIssue({ code: 'custom', message: 'names no user (postgres://USER@HOST:PORT/DATABASE)' });
  } else if (url.pathname.length <= 1) {
    ctx.addIssue({ code: 'custom', message: 'names no database (postgres://USER@HOST:PORT/DATABASE)' });
  } else if (url.search) {
    ctx.addIssue({ code: 'custom', message: 'query parameters are not read; use the resource keys (sslmode, ca)' });
  }
});

const postgresResource = z.strictObject({
  name,
  type: z.literal('postgres'),
  upstream: postgresUpstream,
  password: secretValue.optional(),
  sslmode: z.enum(['disable', 'require', 'verify-full']).optional(),
  ca: nonEmptyText('a file path').optional(),
});

const httpInject = z
  .strictObject({
    header: nonEmptyText('a header name').optional(),
    query: nonEmptyText('a query parameter name').optional(),
    value: secretValue.optional(),
    basic: z.strictObject({ username: nonEmptyText('a user name'), password: secretValue }).optional(),
  })
  .superRefine((inject, ctx) => {
    const ways = [inject.header, inject.query, inject.basic].filter((way) => way !== undefined).length;
    if (ways !== 1) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of `header`, `query` or `basic`' });
    } else if (!inject.basic && inject.value === undefined) {
      ctx.addIssue({ code: 'custom', path: ['value'], message: 'required with `header` or `query`' });
    }
  });

/** A response content type (`image/png`), or a glob over them (`image/*`, or any type: a star, a slash and a star). */
const contentTypeGlob = text('a content type').regex(/^(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*)\/(?:\*|[a-z0-9][a-z0-9!#$&^_.+-]*)$/, 'must be a lower-case content type like application/pdf, or a glob like image/*');

const httpResource = z.strictObject({
  name,
  type: z.literal('http'),
  upstream: httpUrlAnyHost(),
  inject: httpInject.optional(),
  /** A PEM file of the CA(s) that sign the upstream's certificate (replaces the system's roots for this upstream). */
  ca: nonEmptyText('a file path').optional(),
  /** The resource on a port of its own, at its root (no /r/NAME/ prefix). */
  listen: listener.optional(),
  /** The largest request body the gateway holds (for an approval, or to read the fields a rule names); larger: 413. */
  buffer_limit: size.refine((bytes) => bytes > 0 && bytes <= 64 * 1024 * 1024, 'must be more than 0 and at most 64MiB').default(1_048_576),
  /** How long the upstream may take to answer (its response headers), and to send each part of its body. */
  timeout: duration('a duration').refine((ms) => ms >= 100 && ms <= 3_600_000, 'must be between 100ms and 1h').default(60_000),
  /** Response types passed without masking to callers masking rules apply to (other non-text types are refused for them). */
  pass_content_types: z.array(contentTypeGlob).default([]),
});

const envName = text('an environment variable name').regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'not an environment variable name');
/** `{file:NAME}` in a command argument: the path of that generated file. */
export const EXEC_FILE_PLACEHOLDER = /\{file:([A-Za-z0-9][A-Za-z0-9_.-]{0,62})\}/g;

/** A file the gateway writes (0600, in a private directory removed after the command) for a command to read its secret from. */
const execFile = z.strictObject({
  content: secretValue,
  /** A variable the command gets with the file's path (e.g. KUBECONFIG). */
  env: envName.optional(),
});

const execResource = z
  .strictObject({
    name,
    type: z.literal('exec'),
    /** The program and its fixed arguments (argv: never run through a shell); the caller's arguments follow. */
    command: z.array(nonEmptyText('an argument')).min(1, 'must name the program to run'),
    /** Variables the command gets, secrets included (never on its command line, where `ps` shows them). */
    env: z.record(envName, secretValue).default({}),
    files: z.record(text('a file name').regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 letters, digits, "_", "-", "." (a file name)'), execFile).default({}),
    cwd: nonEmptyText('a directory').optional(),
    /** How long the command may run before it is ended (SIGTERM, then SIGKILL). */
    timeout: duration('a duration').refine((ms) => ms >= 1_000 && ms <= 86_400_000, 'must be between 1s and 24h').default(3_600_000),
  })
  .superRefine((resource, ctx) => {
    resource.command.forEach((arg, index) => {
      for (const [, file] of arg.matchAll(EXEC_FILE_PLACEHOLDER)) {
        if (!Object.hasOwn(resource.files, file!)) ctx.addIssue({ code: 'custom', path: ['command', index], message: `names {file:${file}}, but \`files\` has no ${file}` });
      }
    });
    for (const [file, spec] of Object.entries(resource.files)) {
      if (spec.env !== undefined && Object.hasOwn(resource.env, spec.env)) ctx.addIssue({ code: 'custom', path: ['files', file, 'env'], message: `${spec.env} is also set in \`env\`; set it in one place` });
    }
  });

const resource = z.discriminatedUnion('type', [postgresResource, httpResource, execResource], {
  error: 'needs `type`: postgres, http or exec',
});

/** The longest `session_grant`: an approval that outlives a working day should be a rule. */
export const MAX_SESSION_GRANT_MS = 86_400_000;

const relationGlob = text('a relation').regex(/^[^.\s]+\.[^.\s]+$/, 'must be schema-qualified (schema.table; `*` globs like public.* or *.users)');

const policyRule = z.strictObject({
  name: name.refine(
    (rule) => !RESERVED_RULE_NAMES.includes(rule),
    { error: (issue) => `"${String(issue.input)}" is reserved for Sluice's own decisions in traces; choose another rule name` },
  ),
  match: z
    .strictObject({
      groups: groupList.optional(),
      // Globs: `*` matches any run of characters.
      subjects: z.array(nonEmptyText('a subject')).optional(),
      claims: z
        .record(nonEmptyText('a claim name'), z.union([text('a claim value or glob'), z.array(text('a claim value or glob')).min(1, 'must list at least one value')], { error: 'expected a claim value (or glob), or a list of them' }))
        .optional(),
      resources: z.array(nonEmptyText('a resource name')).optional(),
      kinds: z.array(z.enum(STATEMENT_KINDS, { error: (issue) => `unknown kind "${String(issue.input)}"; known kinds: ${STATEMENT_KINDS.join(', ')}` })).optional(),
      relations: z.array(relationGlob).optional(),
      flags: z.array(z.enum(STATEMENT_FLAGS, { error: (issue) => `unknown flag "${String(issue.input)}"; known flags: ${STATEMENT_FLAGS.join(', ')}` })).optional(),
      // HTTP requests (http resources): see proxy/policy/http-rule-match.ts.
      methods: z.array(text('an HTTP method').superRefine(refineWith(httpMethodProblem)).transform((method) => method.toUpperCase())).min(1, 'must list at least one method').optional(),
      paths: z.array(text('a path glob').superRefine(refineWith(httpPathGlobProblem))).min(1, 'must list at least one path').optional(),
      fields: z.array(text('a JSON field path').superRefine(refineWith(jsonPathProblem))).min(1, 'must list at least one field path').optional(),
      // Commands on exec resources: patterns over the caller's arguments (proxy/policy/exec-command.ts).
      args: z.array(text('an arguments pattern').superRefine(refineWith(execArgsPatternProblem))).min(1, 'must list at least one pattern').optional(),
    })
    .default({}),
  effect: z.enum(['allow', 'deny', 'approve'], { error: 'must be allow, deny or approve' }),
  reason: text().optional(),
  // Whether it suits the effect is checked in policyProblems, so it is reported with other errors.
  session_grant: duration('a duration')
    .refine((ms) => ms > 0 && ms <= MAX_SESSION_GRANT_MS, 'must be more than 0 and at most 24h')
    .optional(),
});

const dangerousFunction = text('a function name').regex(
  /^(?:[a-z_][a-z0-9_$]*\.)?(?:[a-z_][a-z0-9_$]*\*?|\*)$/,
  'must be a lower-case function name, optionally schema-qualified, optionally ending in "*" (e.g. pg_read_file, dblink*, admin.reset_all)',
);

const sql = z.strictObject({
  dangerous_functions: z.array(dangerousFunction).default([...DEFAULT_DANGEROUS_FUNCTIONS]),
});

/** The limits themselves: the top level of `limits` (everyone) and each scoped rule. */
const limitValues = {
  rows_per_statement: z.number().int().positive('must be a positive number of rows').optional(),
  bytes_per_statement: size.refine((bytes) => bytes > 0, 'must be more than 0').optional(),
  bytes_per_session: size.refine((bytes) => bytes > 0, 'must be more than 0').optional(),
  statements_per_minute: z.number().int().positive('must be a positive number of statements').optional(),
  /** Past a limit: stop the result with an error (deny), or hold it until approvers let it go on (approve). */
  on_exceed: z.enum(['deny', 'approve'], { error: 'must be deny or approve' }).optional(),
};

const limitRule = z
  .strictObject({ name, ...limitValues, groups: groupList.optional(), except_groups: groupList.optional() })
  .superRefine((rule, ctx) => {
    if (rule.groups === undefined && rule.except_groups === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs `groups` or `except_groups` to say whom it limits (limits for everyone go at the top of `limits`)' });
    }
  });

const limits = z.strictObject({
  ...limitValues,
  /** A SELECT without WHERE or LIMIT on one of these raises the `full_scan` flag policy can match. */
  full_scan_tables: z.array(relationGlob).default([]),
  /** Limits for some callers: a rule that applies beats the top level, and the tightest applying rule wins. */
  rules: z.array(limitRule).default([]),
});

const detectorName = z.enum(DETECTOR_NAMES, { error: (issue) => `unknown detector "${String(issue.input)}"; built-in detectors: ${DETECTOR_NAMES.join(', ')}` });

/** What a redact rule writes instead; kept to characters that cannot break JSON text or array literals. */
const replacement = text('a replacement text').regex(/^[\w .:*#@+\-[\]()<>/|~=]{0,64}$/, 'must be at most 64 letters, digits, spaces or .:*#@+-[]()<>/|~= (no quotes, backslashes or braces)');

const maskingRule = z
  .strictObject({
    name,
    detect: z.union([detectorName, z.array(detectorName).min(1, 'must list at least one detector')]).optional(),
    pattern: nonEmptyText('an RE2 pattern')
      .superRefine((pattern, ctx) => {
        const problem = patternProblem(pattern);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional(),
    columns: z
      .array(text('a column').regex(/^[^.\s]+\.[^.\s]+\.[^.\s]+$/, 'must be schema.table.column (`*` globs like billing.*.card_number)'))
      .min(1, 'must list at least one column')
      .optional(),
    /** Values in JSON bodies of HTTP responses, by field path ($.customers[*].email). */
    json_paths: z.array(text('a JSON field path').superRefine(refineWith(jsonPathProblem))).min(1, 'must list at least one field path').optional(),
    // YAML reads a bare `strategy: null` as null: that is the null strategy, not a missing one.
    strategy: z.preprocess((value) => (value === null ? 'null' : value), z.enum(MASKING_STRATEGIES, { error: `must be one of ${MASKING_STRATEGIES.join(', ')}` })),
    replacement: replacement.optional(),
    keep_last: z.number().int().min(0, 'must be 0 or more').max(32, 'must be at most 32').optional(),
    groups: groupList.optional(),
    except_groups: groupList.optional(),
    /**
     * A statement that computes something from a masked column (lower(ssn), to_jsonb(u), UNION,
     * CREATE TABLE AS, ...): the value arrives without its source column, so the rule cannot
     * mask it. deny refuses the statement, approve holds it for approvers, detectors lets it
     * through with only content detectors between the value and the caller.
     */
    derived: z.enum(['deny', 'approve', 'detectors'], { error: 'must be deny, approve or detectors' }).optional(),
  })
  .superRefine((rule, ctx) => {
    const content = rule.detect !== undefined || rule.pattern !== undefined;
    if (!content && rule.columns === undefined && rule.json_paths === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs `detect`, `pattern`, `columns` or `json_paths` to say what it masks' });
    }
    if (rule.json_paths !== undefined && (content || rule.columns !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['json_paths'], message: 'a rule masks one kind of thing: JSON fields (`json_paths`), source columns (`columns`) or content anywhere (`detect` / `pattern`); write one rule for each' });
    }
    if (content && rule.columns !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['columns'], message: 'a rule masks either source columns (`columns`) or content anywhere (`detect` / `pattern`), not both; write two rules' });
    }
    if (rule.derived !== undefined && rule.columns === undefined) {
      ctx.addIssue({ code: 'custom', path: ['derived'], message: 'only applies to column rules (`columns`): content rules see every value anyway' });
    }
    if (rule.replacement !== undefined && rule.strategy !== 'redact') {
      ctx.addIssue({ code: 'custom', path: ['replacement'], message: 'only applies to strategy redact' });
    }
    if (rule.keep_last !== undefined && rule.strategy !== 'partial') {
      ctx.addIssue({ code: 'custom', path: ['keep_last'], message: 'only applies to strategy partial' });
    }
  });

/** The masking section alone: the preview API validates draft rule sets with it. */
export const maskingRulesSchema = z.array(maskingRule);

const approvals = z.strictObject({
  timeout: duration('a duration').default(600_000),
  quorum: z.number().int().min(1, 'must be at least 1').default(1),
  self_approval: z.boolean().default(false),
});

const auditStore = z.union([z.literal('sqlite'), z.instanceof(Secret), text()]).superRefine((store, ctx) => {
  if (store === 'sqlite') return;
  const url = parseUrl(store instanceof Secret ? store.reveal() : store);
  if (!url || !isPostgresUrl(url)) {
    ctx.addIssue({ code: 'custom', message: 'must be "sqlite" or a postgres:// URL (a secret reference when it holds a password)' });
  } else if (url.password && !(store instanceof Secret)) {
    ctx.addIssue({ code: 'custom', message: 'holds a password in plain text; use ${env:NAME} or ${file:PATH}' });
  }
});

const resultSample = z.strictObject({
  rows: z.number().int().min(0, 'must be 0 (no sample) or more').max(1_000, 'must be at most 1000').default(3),
  bytes: size.refine((bytes) => bytes <= 1024 * 1024, 'must be at most 1MB').default(2_048),
});

const audit = z.strictObject({
  store: auditStore.default('sqlite'),
  durability: z.enum(['strict', 'batched'], { error: 'must be strict or batched' }).default('batched'),
  retention: duration('a duration').default(90 * 86_400_000),
  /** The first rows of each result, masked, kept with the statement's record. */
  result_sample: resultSample.default({ rows: 3, bytes: 2_048 }),
  /** How often the ledger's head is signed (and always at shutdown). */
  checkpoint_interval: duration('a duration')
    .refine((ms) => ms >= 1_000 && ms <= 86_400_000, 'must be between 1s and 24h')
    .default(300_000),
});

/** The MCP gateway (proxy/mcp): how long a tool call waits on an approval before answering "pending". */
const mcp = z.strictObject({
  approval_wait: duration('a duration')
    .refine((ms) => ms >= 0 && ms <= 600_000, 'must be between 0s and 10m')
    .default(30_000),
});

export const configSchema = z
  .strictObject({
    data_dir: nonEmptyText('a directory').default('./.sluice'),
    listen: z
      .strictObject({
        postgres: listener.optional(),
        http: listener.optional(),
        api: listener.optional(),
        allow_cleartext_without_tls: z.boolean().default(false),
      })
      .default({ allow_cleartext_without_tls: false }),
    identity: identity.default({ oidc: [], tokens: [] }),
    roles: roles.default({ approvers: ['approvers'], auditors: ['auditors', 'approvers'], admins: ['admins'] }),
    resources: z.array(resource).default([]),
    policy: z.array(policyRule).default([]),
    sql: sql.default({ dangerous_functions: [...DEFAULT_DANGEROUS_FUNCTIONS] }),
    limits: limits.default({ full_scan_tables: [], rules: [] }),
    masking: maskingRulesSchema.default([]),
    approvals: approvals.default({ timeout: 600_000, quorum: 1, self_approval: false }),
    audit: audit.default({ store: 'sqlite', durability: 'batched', retention: 90 * 86_400_000, result_sample: { rows: 3, bytes: 2_048 }, checkpoint_interval: 300_000 }),
    mcp: mcp.default({ approval_wait: 30_000 }),
  });

/**
 * Checks across sections (unique names, policy -> resource references). It reads the raw tree
 * defensively rather than running as a zod refinement, because zod skips refinements once any
 * field fails, and config errors are reported all at once.
 */
export function crossReferenceProblems(tree: unknown): { path: (string | number)[]; message: string }[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const root = asRecord(tree);
  const identitySection = asRecord(root.identity);
  const resources = namedItems(root.resources);
  const tokens = asArray(identitySection.tokens).map(asRecord);
  const unique = (items: readonly Record<string, unknown>[], path: (string | number)[], what: string) =>
    duplicates(items.map((item) => item.name)).forEach((index) =>
      problems.push({ path: [...path, index, 'name'], message: `${what} "${String(items[index]!.name)}" is defined twice; names must be unique` }),
    );
  unique(resources, ['resources'], 'resource');
  unique(namedItems(root.policy), ['policy'], 'policy rule');
  unique(namedItems(root.masking), ['masking'], 'masking rule');
  unique(namedItems(asRecord(root.limits).rules), ['limits', 'rules'], 'limit rule');
  unique(tokens, ['identity', 'tokens'], 'token');
  duplicates(asArray(identitySection.oidc).map((issuer) => asRecord(issuer).issuer)).forEach((index) =>
    problems.push({ path: ['identity', 'oidc', index, 'issuer'], message: 'issuer listed twice' }),
  );
  duplicates(tokens.map((token) => token.sha256)).forEach((index) =>
    problems.push({ path: ['identity', 'tokens', index, 'sha256'], message: 'same token hash as an earlier token' }),
  );
  const resourceNames = new Set(resources.map((r) => r.name).filter((n): n is string => typeof n === 'string'));
  const known = [...resourceNames].join(', ') || 'none configured';
  namedItems(root.policy).forEach((rule, ruleIndex) =>
    asArray(asRecord(rule.match).resources).forEach((ref, refIndex) => {
      if (typeof ref === 'string' && ref !== '*' && !resourceNames.has(ref)) {
        problems.push({ path: ['policy', ruleIndex, 'match', 'resources', refIndex], message: `no resource named "${ref}" (resources: ${known})` });
      }
    }),
  );
  problems.push(...policyProblems(namedItems(root.policy), resources));
  return problems;
}

export type Config = z.output<typeof configSchema>;
export type ResourceConfig = Config['resources'][number];
export type OidcIssuerConfig = Config['identity']['oidc'][number];
export type StaticTokenConfig = Config['identity']['tokens'][number];
export type PolicyRuleConfig = Config['policy'][number];
export type MaskingRuleConfig = Config['masking'][number];
export type LimitsConfig = Config['limits'];
export type LimitRuleConfig = LimitsConfig['rules'][number];

function httpUrlAnyHost() {
  return text('an http(s):// URL').superRefine((input, ctx) => {
    const url = parseUrl(input);
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      ctx.addIssue({ code: 'custom', message: 'not an http:// or https:// URL' });
    } else if (url.username || url.password) {
      // Never echo the URL: it holds the credential.
      ctx.addIssue({ code: 'custom', message: 'holds credentials; use `inject: { basic: { username, password: ${env:NAME} } }`' });
    }
  });
}

function isPostgresUrl(url: URL): boolean {
  return url.protocol === 'postgres:' || url.protocol === 'postgresql:';
}

/** Indexes of values that appeared earlier in the list. */
function duplicates(values: readonly unknown[]): number[] {
  const seen = new Set<unknown>();
  const repeated: number[] = [];
  values.forEach((value, index) => {
    if (typeof value !== 'string') return;
    if (seen.has(value)) repeated.push(index);
    seen.add(value);
  });
  return repeated;
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function namedItems(value: unknown): Record<string, unknown>[] {
  return asArray(value).map(asRecord);
}

/** A zod refinement from a function saying what is wrong with a value (undefined: nothing). */
function refineWith(problem: (value: string) => string | undefined) {
  return (value: string, ctx: z.RefinementCtx) => {
    const found = problem(value);
    if (found !== undefined) ctx.addIssue({ code: 'custom', message: found });
  };
}
