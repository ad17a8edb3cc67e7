import { SqlCode } from '../../ui/sql-code.js';
import { EffectBadge, EffectIcon } from './effect-badge.js';
import { GATEWAY_RULES, type Decision, type ExplainedStatement, type Explanation } from './explanation.js';
import { configDuration, EFFECT_WORDS } from './policy-words.js';

// The answer of policy explain: the decision first and large (what the gateway would do), then,
// per statement, what the parser found in it and every rule that matched, with the one that
// decides marked and why it beats the others.

/** Who and where the explanation was for, shown with it so a stale answer is never mistaken for a fresh one. */
export interface ExplainedFor {
  readonly subject: string;
  readonly groups: readonly string[];
  readonly claims: Readonly<Record<string, string>>;
  readonly resource: string;
}

export function ExplainResult({ explanation, explainedFor }: { readonly explanation: Explanation; readonly explainedFor: ExplainedFor }) {
  const { decision, statements } = explanation;
  const several = statements.length > 1;
  return (
    <div className="explain-result" data-testid="explain-result">
      <Verdict decision={decision} explainedFor={explainedFor} />
      {several && (
        <p className="section-note">
          The message holds {statements.length} statements; the gateway decides it by its most restrictive one{decision.rule !== GATEWAY_RULES.default ? ` (rule ${decision.rule})` : ''}.
        </p>
      )}
      {statements.map((statement, index) => (
        <StatementExplained key={index} statement={statement} {...(several && { number: index + 1 })} />
      ))}
    </div>
  );
}

function Verdict({ decision, explainedFor }: { readonly decision: Decision; readonly explainedFor: ExplainedFor }) {
  const claims = Object.entries(explainedFor.claims);
  return (
    <div className={`verdict verdict-${decision.effect}`} role="status" aria-live="polite" data-testid="verdict" data-effect={decision.effect}>
      <div className="verdict-head">
        <EffectIcon effect={decision.effect} size={28} />
        <div>
          <div className="verdict-word">{EFFECT_WORDS[decision.effect].verdict}</div>
          <div className="verdict-rule">{decidedBy(decision)}</div>
        </div>
      </div>
      {decision.reason && <p className="verdict-reason">{decision.reason}</p>}
      <p className="verdict-outcome">{outcome(decision)}</p>
      <p className="verdict-for muted">
        For <strong>{explainedFor.subject}</strong>
        {explainedFor.groups.length > 0 ? ` in ${explainedFor.groups.join(', ')}` : ' in no group'}
        {claims.length > 0 && ` with ${claims.map(([key, value]) => `${key}=${value}`).join(', ')}`} on <strong>{explainedFor.resource}</strong>
      </p>
    </div>
  );
}

function decidedBy(decision: Decision): string {
  switch (decision.rule) {
    case GATEWAY_RULES.default:
      return 'by the default deny: no rule allows it';
    case GATEWAY_RULES.parser:
      return 'the statement does not parse, so it cannot be checked';
    case GATEWAY_RULES.unknownPrepared:
      return 'it runs a prepared statement Sluice never saw';
    case GATEWAY_RULES.empty:
      return 'the text holds no statement';
    default:
      return `by rule ${decision.rule}`;
  }
}

/** What the client would see. */
function outcome(decision: Decision): string {
  switch (decision.effect) {
    case 'allow':
      return 'The gateway forwards it to the database.';
    case 'approve':
      return `The gateway holds it until an approver decides${decision.sessionGrantMs !== undefined ? `; they may approve it for the rest of the session, for up to ${configDuration(decision.sessionGrantMs)}` : ''}.`;
    case 'deny':
      return 'The client gets an error (SQLSTATE 42501) and the statement never reaches the database.';
  }
}

function StatementExplained({ statement, number }: { readonly statement: ExplainedStatement; readonly number?: number }) {
  const { decision } = statement;
  const winner = decision.trace[0];
  return (
    <section className="explained-statement card" aria-label={number !== undefined ? `Statement ${number}` : 'The statement'}>
      <div className="explained-head">
        <h3>{number !== undefined ? `Statement ${number}` : 'What the statement does'}</h3>
        {number !== undefined && <EffectBadge effect={decision.effect} />}
      </div>
      {number !== undefined && <SqlCode sql={statement.text} />}
      <dl className="statement-facts">
        <Facts label="Kind" values={[statement.kind]} />
        {statement.operations.some((operation) => operation !== statement.kind) && <Facts label="Operations" values={statement.operations} />}
        <Facts label="Reads" values={statement.reads} />
        <Facts label="Writes" values={statement.writes} />
        {statement.functions.length > 0 && <Facts label="Functions" values={statement.functions} />}
        <Facts label="Flags" values={statement.flags} tone="flag" none="none" />
        {statement.prepares && <Facts label="Prepares" values={[`${statement.prepares.name} (${statement.prepares.operations.join(', ')})`]} />}
        {statement.executes !== undefined && <Facts label="Executes" values={[`${statement.executes} (not prepared in this text)`]} />}
      </dl>
      <h4 className="trace-heading">{decision.rule === GATEWAY_RULES.default ? 'No rule matched' : `Rules that matched (${decision.trace.length})`}</h4>
      <ol className="trace" data-testid="trace">
        {decision.trace.map((step, index) => (
          <li key={`${step.rule}-${index}`} className={`trace-step${index === 0 ? ' trace-winner' : ''}`}>
            <EffectBadge effect={step.effect} />
            <code className="trace-rule">{step.rule}</code>
            {index === 0 && <span className="rule-hit rule-hit-decides">decides</span>}
            <span className="trace-why">{step.why}</span>
          </li>
        ))}
      </ol>
      {winner && <p className="trace-note">{whyWinner(decision)}</p>}
    </section>
  );
}

/** Why the first trace step is the one that counts. */
function whyWinner(decision: Decision): string {
  const [winner, ...others] = decision.trace;
  if (!winner) return '';
  if (winner.rule === GATEWAY_RULES.default) return 'Nothing allows or holds this statement, so the default deny applies.';
  if (winner.rule === GATEWAY_RULES.parser || winner.rule === GATEWAY_RULES.unknownPrepared) return 'Sluice fails closed: what it cannot classify does not run.';
  if (others.length === 0) return `Only ${winner.rule} matched, so it decides.`;
  const sameEffect = others.filter((step) => step.effect === winner.effect).length;
  const beaten = others.length - sameEffect;
  const parts: string[] = [];
  if (beaten > 0) parts.push(`${winner.effect === 'deny' ? 'deny' : 'needs approval'} is more restrictive than ${[...new Set(others.filter((step) => step.effect !== winner.effect).map((step) => EFFECT_WORDS[step.effect].badge))].join(' and ')}`);
  if (sameEffect > 0) parts.push(`it comes first in the file among the rules with the same effect`);
  return `${winner.rule} decides: ${parts.join(', and ')}.`;
}

function Facts({ label, values, tone, none = '—' }: { readonly label: string; readonly values: readonly string[]; readonly tone?: 'flag'; readonly none?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {values.length === 0 ? (
          <span className="muted">{none}</span>
        ) : (
          values.map((value, index) => (
            <code key={`${value}-${index}`} className={`chip${tone ? ` chip-${tone}` : ''}`}>
              {value}
            </code>
          ))
        )}
      </dd>
    </div>
  );
}
