import { useEffect, useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { ApiError, ResourceView, WhoAmI } from '../../../../proxy/api/api-contract.js';
import type { EngineClient } from '../../engine-client.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import { ExplainResult, type ExplainedFor } from './explain-result.js';
import { GATEWAY_RULES, readExplanation, type Explanation } from './explanation.js';
import { parseClaims, parseGroups } from './policy-words.js';

// Policy explain, inline: a statement, a resource and an identity in; the decision the gateway
// would make and its trace out (policy.explain runs the gateway's own parser and rules).

export interface ExplainOutcome {
  readonly explanation: Explanation;
  readonly explainedFor: ExplainedFor;
}

interface FieldProblems {
  sql?: string;
  subject?: string;
  claims?: string;
  resource?: string;
}

export function ExplainPanel({
  client,
  whoami,
  resources,
  onExplained,
}: {
  readonly client: EngineClient;
  readonly whoami: WhoAmI;
  readonly resources: readonly ResourceView[];
  readonly onExplained: (outcome: ExplainOutcome | undefined) => void;
}) {
  const sqlResources = resources.filter((resource) => resource.type === 'postgres');
  const [sql, setSql] = useState('');
  const [resource, setResource] = useState(sqlResources[0]?.name ?? '');
  const [subject, setSubject] = useState(whoami.subject);
  const [groups, setGroups] = useState(whoami.groups.join(', '));
  const [claims, setClaims] = useState('');
  const [searchPath, setSearchPath] = useState('');
  const [problems, setProblems] = useState<FieldProblems>({});
  const [error, setError] = useState<ApiError | string | undefined>();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<ExplainOutcome | undefined>();
  const ticket = useRef(0);
  const resultRef = useRef<HTMLDivElement>(null);
  const id = useId();

  // A new answer is what the reader came for: bring it into view (the form may have pushed it below).
  // Only the panel scrolls where it has its own scroll box, so the page keeps its place beside it.
  useEffect(() => {
    const node = resultRef.current;
    if (!outcome || !node) return;
    const box = node.closest('.policy-side');
    if (box && box.scrollHeight > box.clientHeight) box.scrollTop += node.getBoundingClientRect().top - box.getBoundingClientRect().top - 12;
    else node.scrollIntoView?.({ block: 'nearest' });
  }, [outcome]);

  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    const found: FieldProblems = {};
    if (sql.trim() === '') found.sql = 'Type the statement to explain, e.g. DELETE FROM public.orders WHERE id = 42';
    if (subject.trim() === '') found.subject = 'Name the caller (a token name or an OIDC subject)';
    if (resource === '') found.resource = 'Choose the resource the statement would run on';
    const parsedClaims = parseClaims(claims);
    if ('problem' in parsedClaims) found.claims = parsedClaims.problem;
    setProblems(found);
    setError(undefined);
    if (Object.keys(found).length > 0 || 'problem' in parsedClaims) return;
    const explainedFor: ExplainedFor = { subject: subject.trim(), groups: parseGroups(groups), claims: parsedClaims.claims, resource };
    const mine = ++ticket.current;
    setBusy(true);
    const result = await client.call('policy.explain', {
      identity: { subject: explainedFor.subject, groups: [...explainedFor.groups], claims: parsedClaims.claims },
      resource,
      sql,
      ...(searchPath.trim() !== '' && { searchPath: searchPath.trim() }),
    });
    if (mine !== ticket.current) return;
    setBusy(false);
    if (!result.ok) {
      setError(result.error);
      return;
    }
    const explanation = readExplanation(result.value);
    if (!explanation) {
      setError('The gateway answered with something this console cannot read as an explanation; check that the console and the gateway are the same version.');
      return;
    }
    // SQL that does not parse is an answer (the gateway would refuse it), and a problem with the field.
    if (explanation.statements.length === 0 && explanation.decision.rule === GATEWAY_RULES.parser) setProblems({ sql: explanation.decision.reason });
    const next = { explanation, explainedFor };
    setOutcome(next);
    onExplained(next);
  };

  // Ctrl+Enter (⌘+Enter) explains from the statement box, as in a SQL console.
  const onStatementKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void submit();
  };

  return (
    <section className="explain-panel card" aria-labelledby={`${id}-heading`}>
      <h2 id={`${id}-heading`}>Explain a statement</h2>
      <p className="muted small">What would the gateway do with this SQL, from this caller, on this resource? The same parser and rules decide as for real traffic; nothing runs.</p>
      <form className="explain-form" onSubmit={(event) => void submit(event)} noValidate>
        <div className="field">
          <label htmlFor={`${id}-sql`}>Statement</label>
          <textarea
            id={`${id}-sql`}
            className="explain-sql"
            rows={4}
            spellCheck={false}
            value={sql}
            placeholder="DELETE FROM public.orders WHERE id = 42"
            onChange={(event) => setSql(event.target.value)}
            onKeyDown={onStatementKey}
            aria-invalid={problems.sql !== undefined}
            aria-describedby={problems.sql !== undefined ? `${id}-sql-problem` : `${id}-sql-hint`}
          />
          {problems.sql !== undefined ? (
            <p className="field-error" id={`${id}-sql-problem`} role="alert" data-testid="sql-problem">
              {problems.sql}
            </p>
          ) : (
            <p className="field-hint muted" id={`${id}-sql-hint`}>
              Several statements separated by <code>;</code> are explained together. <kbd>Ctrl</kbd>+<kbd>Enter</kbd> explains.
            </p>
          )}
        </div>
        <div className="field-row">
          <div className="field">
            <label htmlFor={`${id}-resource`}>Resource</label>
            <select id={`${id}-resource`} value={resource} onChange={(event) => setResource(event.target.value)} aria-invalid={problems.resource !== undefined}>
              {sqlResources.length === 0 && <option value="">no PostgreSQL resource configured</option>}
              {sqlResources.map((item) => (
                <option key={item.name} value={item.name}>
                  {item.name}
                </option>
              ))}
            </select>
            {problems.resource !== undefined && <p className="field-error">{problems.resource}</p>}
          </div>
          <div className="field">
            <label htmlFor={`${id}-search-path`}>search_path (optional)</label>
            <input id={`${id}-search-path`} className="mono" value={searchPath} placeholder={'"$user", public'} spellCheck={false} onChange={(event) => setSearchPath(event.target.value)} />
          </div>
        </div>
        <fieldset className="identity-fields">
          <legend>Caller</legend>
          <div className="field-row">
            <div className="field">
              <label htmlFor={`${id}-subject`}>Subject</label>
              <input
                id={`${id}-subject`}
                value={subject}
                spellCheck={false}
                onChange={(event) => setSubject(event.target.value)}
                aria-invalid={problems.subject !== undefined}
                {...(problems.subject !== undefined && { 'aria-describedby': `${id}-subject-problem` })}
              />
              {problems.subject !== undefined && (
                <p className="field-error" id={`${id}-subject-problem`}>
                  {problems.subject}
                </p>
              )}
            </div>
            <div className="field">
              <label htmlFor={`${id}-groups`}>Groups (comma-separated)</label>
              <input id={`${id}-groups`} value={groups} placeholder="ci, repo:org/app" spellCheck={false} onChange={(event) => setGroups(event.target.value)} />
            </div>
          </div>
          <div className="field">
            <label htmlFor={`${id}-claims`}>Claims (optional, one key=value a line)</label>
            <textarea
              id={`${id}-claims`}
              rows={2}
              spellCheck={false}
              value={claims}
              placeholder={'environment=production\nref=refs/heads/main'}
              onChange={(event) => setClaims(event.target.value)}
              aria-invalid={problems.claims !== undefined}
              {...(problems.claims !== undefined && { 'aria-describedby': `${id}-claims-problem` })}
            />
            {problems.claims !== undefined && (
              <p className="field-error" id={`${id}-claims-problem`}>
                {problems.claims}
              </p>
            )}
          </div>
        </fieldset>
        <div className="explain-actions">
          <button type="submit" className="button button-primary" disabled={busy}>
            {busy ? 'Explaining…' : 'Explain'}
          </button>
          {outcome && !busy && (
            <button
              type="button"
              className="button button-quiet"
              onClick={() => {
                ticket.current++;
                setOutcome(undefined);
                setProblems({});
                onExplained(undefined);
              }}
            >
              Clear result
            </button>
          )}
        </div>
        {error !== undefined && <ErrorBanner error={error} action="Could not explain" />}
      </form>
      <div ref={resultRef}>{outcome && <ExplainResult explanation={outcome.explanation} explainedFor={outcome.explainedFor} />}</div>
    </section>
  );
}
