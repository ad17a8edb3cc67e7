import './policy.css';
import { useMemo, useState } from 'react';
import type { WhoAmI } from '../../../../proxy/api/api-contract.js';
import type { EngineClient } from '../../engine-client.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import { useCall } from '../../ui/use-call.js';
import { ExplainPanel, type ExplainOutcome } from './explain-panel.js';
import { PolicyRules, type RuleHit } from './policy-rules.js';
import { PolicySettings, ResourcesTable } from './policy-settings.js';
import { readRule } from './policy-words.js';

// Policy & resources: the gateway's config as auditors read it (policy.view: no credential is
// ever in it), with policy explain beside the rules so a reader sees which rule decides.

export function PolicyScreen({ client, whoami }: { readonly client: EngineClient; readonly whoami: WhoAmI }) {
  const view = useCall(client, 'policy.view', {});
  const [explained, setExplained] = useState<ExplainOutcome | undefined>();
  const rules = useMemo(() => (view.value ? view.value.rules.map(readRule) : []), [view.value]);
  const hits = useMemo(() => ruleHits(explained), [explained]);

  return (
    <div className="policy-screen">
      <header className="screen-header">
        <h1>Policy &amp; resources</h1>
        <p className="muted">What the gateway's configuration says, read-only. Changes are made in its <code>sluice.yaml</code>.</p>
      </header>
      {view.status === 'error' && <ErrorBanner error={view.error} action="Could not load the policy" />}
      {view.value === undefined ? (
        view.status === 'loading' && (
          <p className="muted policy-loading" role="status">
            Loading the policy…
          </p>
        )
      ) : (
        <div className="policy-layout">
          <div className="policy-main">
            <ResourcesTable resources={view.value.resources} />
            <PolicyRules rules={rules} hits={hits} />
            <PolicySettings view={view.value} />
          </div>
          <aside className="policy-side" aria-label="Policy explain">
            <ExplainPanel client={client} whoami={whoami} resources={view.value.resources} onExplained={setExplained} />
          </aside>
        </div>
      )}
    </div>
  );
}

/** The rules the last explanation matched (any statement), and the ones that decided one. */
function ruleHits(outcome: ExplainOutcome | undefined): ReadonlyMap<string, RuleHit> {
  const hits = new Map<string, RuleHit>();
  if (!outcome) return hits;
  const { statements, decision } = outcome.explanation;
  const decisions = statements.length > 0 ? statements.map((statement) => statement.decision) : [decision];
  for (const one of decisions) {
    one.trace.forEach((step, index) => {
      const decides = index === 0 || hits.get(step.rule)?.decides === true;
      hits.set(step.rule, { effect: step.effect, decides });
    });
  }
  return hits;
}
