import type { ReactNode } from 'react';
import { EmptyState } from '../../ui/empty-state.js';
import { EffectBadge } from './effect-badge.js';
import type { Effect } from './explanation.js';
import { configDuration, type RuleView } from './policy-words.js';

// The policy rules in file order, each as a card a reader takes in at a glance: who it is for,
// what it matches, its effect and why. An explain result marks the rules it matched.

/** What the last explain said about a rule: it matched, and whether it decided. */
export interface RuleHit {
  readonly effect: Effect;
  readonly decides: boolean;
}

export function PolicyRules({ rules, hits }: { readonly rules: readonly RuleView[]; readonly hits: ReadonlyMap<string, RuleHit> }) {
  return (
    <section className="policy-section" aria-labelledby="policy-rules-heading">
      <h2 id="policy-rules-heading">
        Policy rules <span className="muted count">{rules.length}</span>
      </h2>
      <p className="section-note">
        The most restrictive matching rule wins: <strong>deny</strong> over <strong>needs approval</strong> over <strong>allow</strong>; among equals, the first listed. An allow rule covers a
        statement only when every kind, relation and flag the statement has is listed; deny and approval rules match when any one is.
      </p>
      {rules.length === 0 ? (
        <EmptyState title="Everything is denied">
          <p>
            No policy rules are configured, so the gateway refuses every statement (default deny). Add rules under <code>policy:</code> in the gateway's <code>sluice.yaml</code> and restart it.
          </p>
        </EmptyState>
      ) : (
        <ol className="rule-list">
          {rules.map((rule, index) => (
            <RuleCard key={rule.name} rule={rule} position={index + 1} {...(hits.has(rule.name) && { hit: hits.get(rule.name)! })} />
          ))}
        </ol>
      )}
      <div className="rule-default" data-testid="default-deny">
        <span className="rule-position" aria-hidden="true">
          ∗
        </span>
        <span>
          <strong>Default: deny.</strong> A statement no rule allows or holds is refused.
        </span>
        <EffectBadge effect="deny" />
        {hits.has('default') && <span className="rule-hit rule-hit-decides">decided the explained statement</span>}
      </div>
    </section>
  );
}

function RuleCard({ rule, position, hit }: { readonly rule: RuleView; readonly position: number; readonly hit?: RuleHit }) {
  const who = whoParts(rule);
  const what = whatParts(rule);
  return (
    <li className={`rule-card effect-edge-${rule.effect}${hit ? ' rule-card-hit' : ''}`} data-testid="rule" data-rule={rule.name} aria-label={`Rule ${position}: ${rule.name}`}>
      <div className="rule-head">
        <span className="rule-position">{position}</span>
        <h3 className="rule-name">{rule.name}</h3>
        {hit && <span className={`rule-hit${hit.decides ? ' rule-hit-decides' : ''}`}>{hit.decides ? 'decided the explained statement' : 'matched the explained statement'}</span>}
        <EffectBadge effect={rule.effect} />
      </div>
      <dl className="rule-facts">
        <dt>Who</dt>
        <dd>{who.length > 0 ? joinParts(who) : <span className="muted">anyone</span>}</dd>
        <dt>What</dt>
        <dd>{what.length > 0 ? joinParts(what) : <span className="muted">any statement on any resource</span>}</dd>
        {rule.reason !== undefined && (
          <>
            <dt>Reason</dt>
            <dd className="rule-reason">{rule.reason}</dd>
          </>
        )}
        {rule.sessionGrantMs !== undefined && (
          <>
            <dt>Grant</dt>
            <dd>approvers may approve the statement for the rest of the session, for up to {configDuration(rule.sessionGrantMs)}</dd>
          </>
        )}
      </dl>
    </li>
  );
}

function whoParts(rule: RuleView): ReactNode[] {
  const parts: ReactNode[] = [];
  if (rule.groups) parts.push(<Fact key="groups" label={rule.groups.length === 1 ? 'group' : 'any of groups'} values={rule.groups} />);
  if (rule.subjects) parts.push(<Fact key="subjects" label={rule.subjects.length === 1 ? 'subject' : 'any of subjects'} values={rule.subjects} />);
  if (rule.claims) {
    for (const [claim, values] of Object.entries(rule.claims)) parts.push(<Fact key={`claim-${claim}`} label={`claim ${claim}`} values={values} />);
  }
  return parts;
}

function whatParts(rule: RuleView): ReactNode[] {
  const parts: ReactNode[] = [];
  if (rule.resources) parts.push(<Fact key="resources" label={rule.resources.length === 1 ? 'resource' : 'resources'} values={rule.resources} />);
  if (rule.kinds) parts.push(<Fact key="kinds" label="kinds" values={rule.kinds} />);
  if (rule.relations) parts.push(<Fact key="relations" label="relations" values={rule.relations} />);
  if (rule.flags) parts.push(<Fact key="flags" label="flags" values={rule.flags} tone="flag" />);
  if (rule.methods) parts.push(<Fact key="methods" label={rule.methods.length === 1 ? 'method' : 'methods'} values={rule.methods} />);
  if (rule.paths) parts.push(<Fact key="paths" label={rule.paths.length === 1 ? 'path' : 'paths'} values={rule.paths} />);
  if (rule.fields) parts.push(<Fact key="fields" label="JSON fields" values={rule.fields} />);
  return parts;
}

function Fact({ label, values, tone }: { readonly label: string; readonly values: readonly string[]; readonly tone?: 'flag' }) {
  return (
    <span className="fact">
      <span className="fact-label">{label}</span>{' '}
      {values.map((value) => (
        <code key={value} className={`chip${tone ? ` chip-${tone}` : ''}`}>
          {value}
        </code>
      ))}
    </span>
  );
}

function joinParts(parts: readonly ReactNode[]): ReactNode {
  return parts.map((part, index) => (
    <span key={index} className="fact-wrap">
      {index > 0 && <span className="fact-and"> and </span>}
      {part}
    </span>
  ));
}
