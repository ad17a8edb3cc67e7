import { assertNever } from '../../common/assert-never.js';
import type { ResourceConfig } from '../../config/schema.js';
import { formatDuration } from '../../config/units.js';
import type { Decision, PolicyRequest } from '../../policy/decision.js';
import { DEFAULT_SEARCH_PATH, explainSql, upstreamUser, type Explanation } from '../../policy/explain-sql.js';
import { denialMessage } from '../../policy/gateway-decisions.js';
import { PolicyEngine } from '../../policy/policy-engine.js';
import { SqlClassifier } from '../../sql/sql-classifier.js';
import { loadSqlParser } from '../../sql/sql-parser.js';
import type { StatementClass } from '../../sql/statement-class.js';
import { commandLine } from '../../common/command-line.js';
import { pathViews } from '../../http/request-target.js';
import { stringOption, type Command, type ParsedArgs } from '../command.js';
import { configPath, loadConfigOrReport } from '../config-file.js';
import { EXIT_FAILED, EXIT_OK, UsageError } from '../io.js';

type Caller = PolicyRequest['identity'];

const IDENTITY_EXAMPLE = "--identity 'subject=alice,groups=ci|dba,repository=org/app'";

export const policyExplainCommand: Command = {
  words: ['policy', 'explain'],
  summary: 'show what policy decides for some SQL, an HTTP request or a command, for whom, and which rules say so',
  usage: "--identity 'subject=S,groups=a|b,CLAIM=V' --resource R (--sql SQL | --request 'METHOD /path' | --args 'ARG ...') [--config FILE] [--search-path P] [--json]",
  details: [
    'The SQL is classified by the same parser and rules as the gateway. For each statement it',
    'prints what the statement does (kind, operations, relations, flags), the decision and every',
    'matching rule, most restrictive first; then the decision for the whole message.',
    '--identity     subject=NAME (required), groups=a|b, any other key=value is a claim',
    '--sql          for a postgres resource',
    '--request      for an http resource: the method and the path within the resource (no body is',
    '               read: a deny or approve rule on `fields` counts as matching, as the gateway does',
    '               for a body it cannot read)',
    '--args         for an exec resource: the caller\'s arguments, split at spaces',
    '--search-path  resolves unqualified names (default: "$user", public)',
    '--json         machine-readable output',
    'Exit code 0 whenever the explanation printed, whatever the decision.',
  ],
  options: {
    config: { type: 'string', short: 'c' },
    identity: { type: 'string' },
    resource: { type: 'string' },
    sql: { type: 'string' },
    request: { type: 'string' },
    args: { type: 'string' },
    'search-path': { type: 'string' },
    json: { type: 'boolean' },
  },
  async run(args, io) {
    const identity = parseIdentity(required(stringOption(args, 'identity'), 'identity', IDENTITY_EXAMPLE));
    const resourceName = required(stringOption(args, 'resource'), 'resource', '--resource prod-db');
    const searchPath = stringOption(args, 'search-path') ?? DEFAULT_SEARCH_PATH;

    const loaded = await loadConfigOrReport(configPath(args, io), io, { resolveSecrets: false });
    if (!loaded) return EXIT_FAILED;
    const { config } = loaded;
    const type = checkResource(config.resources, resourceName);
    if (type !== 'postgres') {
      const decision = decideOther(new PolicyEngine(config), identity, resourceName, type, args);
      io.stdout(args.values.json === true ? `${JSON.stringify({ identity, resource: resourceName, decision }, null, 2)}\n` : formatOther(decision, identity, resourceName));
      return EXIT_OK;
    }
    const sql = required(stringOption(args, 'sql'), 'sql', `--sql "SELECT * FROM users"`);

    await loadSqlParser();
    const engine = new PolicyEngine(config);
    const classifier = new SqlClassifier({ dangerousFunctions: config.sql.dangerous_functions, fullScanTables: config.limits.full_scan_tables });
    const user = upstreamUser(engine, resourceName);
    const explanation = explainSql(engine, classifier, { identity, resource: resourceName, sql, searchPath, user });

    if (args.values.json === true) {
      const statements = explanation.statements.map(({ class: statement, decision }) => ({ ...statement, decision }));
      io.stdout(`${JSON.stringify({ identity, resource: resourceName, user, searchPath, statements, decision: explanation.decision }, null, 2)}\n`);
    } else {
      io.stdout(formatExplanation(explanation, identity, resourceName, user, searchPath));
    }
    return EXIT_OK;
  },
};

function required(value: string | undefined, option: string, example: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`sluice policy explain: --${option} is required`, `e.g. ${example}`);
  return value;
}

/** `subject=alice,groups=ci|dba,repository=org/app`: subject, groups and claims (as text). */
export function parseIdentity(text: string): Caller {
  let subject: string | undefined;
  let groups: string[] = [];
  const claims: Record<string, string> = {};
  const seen = new Set<string>();
  for (const entry of text.split(',')) {
    if (entry.trim() === '') continue;
    const equals = entry.indexOf('=');
    const key = equals === -1 ? '' : entry.slice(0, equals).trim();
    if (key === '') throw new UsageError(`--identity: "${entry.trim()}" is not key=value`, `use ${IDENTITY_EXAMPLE}`);
    if (seen.has(key)) throw new UsageError(`--identity: "${key}" is given twice`, `give each key once; separate groups with "|"`);
    seen.add(key);
    const value = entry.slice(equals + 1).trim();
    if (key === 'subject') subject = value;
    else if (key === 'groups') groups = value.split('|').map((group) => group.trim()).filter((group) => group !== '');
    else claims[key] = value;
  }
  if (!subject) throw new UsageError('--identity names no subject', `use ${IDENTITY_EXAMPLE}`);
  return { subject, groups, claims };
}

function checkResource(resources: readonly ResourceConfig[], name: string): ResourceConfig['type'] {
  const resource = resources.find((candidate) => candidate.name === name);
  const known = resources.map((candidate) => `${candidate.name} (${candidate.type})`).join(', ');
  if (!resource) throw new UsageError(`no resource named "${name}"`, known ? `resources: ${known}` : 'the config defines no resources');
  return resource.type;
}

/** An HTTP request (--request) or a command (--args) on a resource of that type. */
function decideOther(engine: PolicyEngine, identity: Caller, resource: string, type: Exclude<ResourceConfig['type'], 'postgres'>, args: ParsedArgs): Decision {
  if (stringOption(args, 'sql') !== undefined) throw new UsageError(`"${resource}" is an ${type} resource: --sql is for postgres resources`, type === 'http' ? "pass --request 'GET /path'" : "pass --args 'ARG ...'");
  if (type === 'http') {
    const line = required(stringOption(args, 'request'), 'request', "--request 'POST /refunds/42'");
    const match = /^\s*([A-Za-z]+)\s+(\/\S*)\s*$/.exec(line);
    if (!match) throw new UsageError(`--request "${line}" is not METHOD /path`, "e.g. --request 'POST /refunds/42'");
    const method = match[1]!.toUpperCase();
    const path = match[2]!.split('?')[0]!;
    return engine.decideHttp({ identity, resource, request: { method, path, pathViews: pathViews(path), text: `${method} ${path}` } });
  }
  const words = required(stringOption(args, 'args'), 'args', "--args 'get pods -A'").trim().split(/\s+/);
  const template = engine.resource(resource);
  const argv = [...(template?.type === 'exec' ? template.command : []), ...words];
  return engine.decideExec({ identity, resource, command: { argv, args: words, text: commandLine(argv) } });
}

function formatOther(decision: Decision, identity: Caller, resource: string): string {
  const claims = Object.entries(identity.claims).map(([claim, value]) => `${claim}=${String(value)}`);
  return [
    `identity: ${identity.subject}; groups ${identity.groups.join(', ') || '(none)'}${claims.length > 0 ? `; claims ${claims.join(', ')}` : ''}`,
    `resource: ${resource}`,
    '',
    ...describeDecision(decision),
    ...outcomeLines(decision),
    '',
  ].join('\n');
}

function formatExplanation(explanation: Explanation, identity: Caller, resource: string, user: string, searchPath: string): string {
  const claims = Object.entries(identity.claims).map(([claim, value]) => `${claim}=${String(value)}`);
  const lines = [
    `identity: ${identity.subject}; groups ${identity.groups.join(', ') || '(none)'}${claims.length > 0 ? `; claims ${claims.join(', ')}` : ''}`,
    `resource: ${resource} (user ${user || '?'}, search_path ${searchPath})`,
    '',
  ];
  if (explanation.statements.length === 0 && explanation.decision.rule === 'empty') lines.push('no statements', '');
  explanation.statements.forEach(({ class: statement, decision }, index) => {
    lines.push(`${index + 1}. ${oneLine(statement.text)}`, ...describeStatement(statement).map((line) => `   ${line}`));
    lines.push(...describeDecision(decision).map((line) => `   ${line}`), '');
  });
  const message = explanation.decision;
  lines.push(`message: ${effectLine(message)}`);
  // One statement: its trace is printed above already.
  if (explanation.statements.length !== 1) lines.push(...traceLines(message).map((line) => `  ${line}`));
  lines.push(...outcomeLines(message), '');
  return lines.join('\n');
}

function describeStatement(statement: StatementClass): string[] {
  const list = (values: readonly string[]) => values.join(', ') || '-';
  return [
    `kind:       ${statement.kind}`,
    `operations: ${list(statement.operations)}`,
    `reads:      ${list(statement.reads)}`,
    `writes:     ${list(statement.writes)}`,
    `functions:  ${list(statement.functions)}`,
    `flags:      ${list(statement.flags)}`,
    ...(statement.prepares ? [`prepares:   ${statement.prepares.name} (${statement.prepares.statement.operations.join(', ')})`] : []),
    ...(statement.executes !== undefined ? [`executes:   ${statement.executes} (not prepared in this text)`] : []),
  ];
}

function describeDecision(decision: Decision): string[] {
  return [`decision:   ${effectLine(decision)}`, 'trace:', ...traceLines(decision).map((line) => `  ${line}`)];
}

function effectLine(decision: Decision): string {
  return `${decision.effect} (rule ${decision.rule}): ${decision.reason}`;
}

function traceLines(decision: Decision): string[] {
  const width = Math.max(...decision.trace.map((step) => step.rule.length));
  return decision.trace.map((step) => `${step.effect.padEnd(7)}  ${step.rule.padEnd(width)}  ${step.why}`);
}

/** What the client would get. */
function outcomeLines(decision: Decision): string[] {
  switch (decision.effect) {
    case 'allow':
      return ['outcome: the gateway forwards it'];
    case 'approve':
      return [
        `outcome: the gateway holds it until an approver decides${decision.sessionGrantMs !== undefined ? ` (who may approve it for the session, up to ${formatDuration(decision.sessionGrantMs)})` : ''}`,
      ];
    case 'deny':
      return [`outcome: the client gets "${denialMessage(decision)}"`];
    default:
      return assertNever(decision.effect, 'effect');
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
