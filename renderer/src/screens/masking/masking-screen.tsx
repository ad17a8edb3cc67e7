import './masking.css';
import { useEffect, useMemo, useState, type KeyboardEvent } from 'react';
import type { ApiError, MaskingRulesView, MaskingSaveResult } from '../../../../proxy/api/api-contract.js';
import type { EngineClient } from '../../engine-client.js';
import { EmptyState } from '../../ui/empty-state.js';
import { ErrorBanner } from '../../ui/error-banner.js';
import { useCall } from '../../ui/use-call.js';
import { fieldErrorsOf, type FieldError } from './field-errors.js';
import { DEFAULT_SAMPLE, PreviewPanel, type LiveQuery, type Sample } from './preview-panel.js';
import { changesOf, draftsOf, duplicateDraft, editDraft, hasChanges, listOf, newDraft, ruleOfDraft, type DraftRule, type RuleForm as RuleFields } from './rule-draft.js';
import { RuleForm } from './rule-form.js';
import { RuleList } from './rule-list.js';
import { SaveDialog } from './save-dialog.js';
import { isFlowSection, sectionYaml } from './section-yaml.js';
import { usePreview, type PreviewSource } from './use-preview.js';
import { YamlPanel } from './yaml-panel.js';

// Masking rules (admins): the gateway's `masking:` section as a list, a form for the selected
// rule with the section's YAML beside it, and a live preview of the draft on sample rows or a
// live query. Save writes the config file through the engine (validated, with a backup, audited).

export function MaskingScreen({ client }: { readonly client: EngineClient }) {
  const loaded = useCall(client, 'masking.rules', {});
  const [saved, setSaved] = useState<MaskingRulesView | undefined>();
  const [drafts, setDrafts] = useState<DraftRule[]>([]);
  const [selected, setSelected] = useState<string | undefined>();

  // A (re)load replaces the draft: the file is the truth until someone edits.
  useEffect(() => {
    if (loaded.status !== 'ok') return;
    setSaved(loaded.value);
    const next = draftsOf(loaded.value.rules);
    setDrafts(next);
    setSelected(next[0]?.key);
  }, [loaded.status, loaded.value]);

  if (!saved) {
    return (
      <div className="masking-screen">
        <h1>Masking rules</h1>
        {loaded.status === 'error' ? (
          <ErrorBanner error={loaded.error} action="Could not read the masking rules" />
        ) : (
          <p className="muted" role="status">
            Reading the gateway's masking rules…
          </p>
        )}
      </div>
    );
  }
  return <Editor client={client} saved={saved} drafts={drafts} setDrafts={setDrafts} selected={selected} setSelected={setSelected} onSaved={setSaved} reload={loaded.reload} />;
}

interface EditorProps {
  readonly client: EngineClient;
  readonly saved: MaskingRulesView;
  readonly drafts: DraftRule[];
  readonly setDrafts: (drafts: DraftRule[]) => void;
  readonly selected: string | undefined;
  readonly setSelected: (key: string | undefined) => void;
  readonly onSaved: (view: MaskingRulesView) => void;
  readonly reload: () => void;
}

function Editor({ client, saved, drafts, setDrafts, selected, setSelected, onSaved, reload }: EditorProps) {
  const [sample, setSample] = useState<Sample>(DEFAULT_SAMPLE);
  const [mode, setMode] = useState<'sample' | 'query'>('sample');
  const [query, setQuery] = useState<LiveQuery>({ resource: '', sql: '' });
  const [activeQuery, setActiveQuery] = useState<LiveQuery | undefined>();
  const [groups, setGroups] = useState('');
  const [saveErrors, setSaveErrors] = useState<readonly FieldError[]>([]);
  const [saveError, setSaveError] = useState<ApiError | undefined>();
  const [result, setResult] = useState<MaskingSaveResult | undefined>();
  const [confirming, setConfirming] = useState(false);
  const [saving, setSaving] = useState(false);

  const rules = useMemo(() => drafts.map(ruleOfDraft), [drafts]);
  const index = drafts.findIndex((draft) => draft.key === selected);
  const current = drafts[index];
  const dirty = hasChanges(saved.rules, drafts);
  const flow = useMemo(() => isFlowSection(saved.yaml), [saved.yaml]);
  const yaml = useMemo(() => sectionYaml(rules, { flow }), [rules, flow]);
  const knownColumns = useMemo(() => [...new Set(rules.flatMap((rule) => listOf(rule.columns)).filter((name) => !name.includes('*')))], [rules]);
  const source: PreviewSource | undefined =
    mode === 'sample'
      ? { kind: 'sample', columns: sample.columns.map((column) => ({ name: column.name, ...(column.source.trim() !== '' && { sources: [column.source.trim()] }) })), rows: sample.rows }
      : activeQuery && { kind: 'query', ...activeQuery };
  const groupList = groups.split(',').map((group) => group.trim()).filter((group) => group !== '');
  const preview = usePreview(client, rules, groupList, source);
  const errors = useMemo(() => [...preview.ruleErrors, ...saveErrors], [preview.ruleErrors, saveErrors]);
  const invalid = useMemo(() => new Set(errors.map((error) => error.rule)), [errors]);

  const update = (next: DraftRule[]) => {
    setDrafts(next);
    setSaveErrors([]);
    setSaveError(undefined);
    setResult(undefined);
  };
  const edit = (change: Partial<RuleFields>) => current && update(drafts.map((draft) => (draft.key === current.key ? editDraft(draft, change) : draft)));
  const add = () => {
    const draft = newDraft(drafts, saved.strategies);
    update([...drafts, draft]);
    setSelected(draft.key);
  };
  const duplicate = () => {
    if (!current) return;
    const copy = duplicateDraft(drafts, current);
    update([...drafts.slice(0, index + 1), copy, ...drafts.slice(index + 1)]);
    setSelected(copy.key);
  };
  const remove = () => {
    if (!current) return;
    const next = drafts.filter((draft) => draft.key !== current.key);
    update(next);
    setSelected((next[index] ?? next[index - 1])?.key);
  };
  const discard = () => {
    const next = draftsOf(saved.rules);
    update(next);
    setSelected(next[Math.max(0, Math.min(index, next.length - 1))]?.key);
  };
  const save = async () => {
    setSaving(true);
    const answer = await client.call('masking.save', { rules, version: saved.version });
    setSaving(false);
    setConfirming(false);
    if (!answer.ok) {
      const fields = answer.error.code === 'invalid_input' ? fieldErrorsOf(answer.error.message) : [];
      setSaveErrors(fields);
      setSaveError(answer.error);
      const first = drafts[fields[0]?.rule ?? -1];
      if (first) setSelected(first.key);
      return;
    }
    setResult(answer.value);
    onSaved(answer.value);
    const next = draftsOf(answer.value.rules);
    setDrafts(next);
    setSelected(next[Math.max(0, Math.min(index, next.length - 1))]?.key);
  };
  const onKeyDown = (event: KeyboardEvent) => {
    if (event.key === 's' && (event.ctrlKey || event.metaKey) && !confirming) {
      event.preventDefault();
      if (dirty) setConfirming(true);
    }
  };

  return (
    <div className="masking-screen" onKeyDown={onKeyDown}>
      <header className="masking-header">
        <div>
          <h1>Masking rules</h1>
          <p className="muted">What callers see instead of sensitive values. Saving rewrites the gateway's config file.</p>
        </div>
        <div className="masking-actions">
          <button type="button" className="button button-quiet" onClick={discard} disabled={!dirty || saving}>
            Discard changes
          </button>
          <button type="button" className="button" onClick={reload} disabled={saving} title="Read the rules from the config file again (drops the draft)">
            Reload from file
          </button>
          <button type="button" className="button button-primary" onClick={() => setConfirming(true)} disabled={!dirty || saving} aria-keyshortcuts="Control+S" title="Save (Ctrl+S)">
            Save…
          </button>
        </div>
      </header>

      <div className="masking-messages" aria-live="polite">
        {result && <SavedNotice result={result} />}
        {saveError && <ErrorBanner error={saveError} action="Not saved" />}
      </div>

      <div className="masking-layout">
        <aside className="masking-rules" aria-label="Rules">
          <div className="rules-toolbar">
            <button type="button" className="button" onClick={add}>
              Add rule
            </button>
            <button type="button" className="button" onClick={duplicate} disabled={!current}>
              Duplicate
            </button>
            <button type="button" className="button button-deny" onClick={remove} disabled={!current}>
              Delete
            </button>
          </div>
          <RuleList drafts={drafts} selected={selected} invalid={invalid} onSelect={setSelected} />
        </aside>
        <div className="masking-editor card">
          {current ? (
            <RuleForm key={current.key} draft={current} index={index} detectors={saved.detectors} strategies={saved.strategies} errors={errors} onChange={edit} />
          ) : (
            <EmptyState title="No rule selected">
              <p>Choose a rule on the left, or add one.</p>
            </EmptyState>
          )}
        </div>
        <div className="masking-side">
          <PreviewPanel
            mode={mode}
            onMode={setMode}
            sample={sample}
            onSample={setSample}
            knownColumns={knownColumns}
            query={query}
            onQuery={setQuery}
            runQuery={() => setActiveQuery({ resource: query.resource.trim(), sql: query.sql })}
            queryActive={activeQuery !== undefined}
            groups={groups}
            onGroups={setGroups}
            state={preview}
            selectedRule={current?.form.name}
          />
          <YamlPanel yaml={yaml} selected={index} file={saved.file} dirty={dirty} />
        </div>
      </div>

      {confirming && <SaveDialog changes={changesOf(saved.rules, drafts)} file={saved.file} saving={saving} onConfirm={() => void save()} onCancel={() => setConfirming(false)} />}
    </div>
  );
}

function SavedNotice({ result }: { readonly result: MaskingSaveResult }) {
  const open = result.openSessions;
  return (
    <div className="save-result" role="status">
      <p>
        <strong>Saved.</strong> New sessions use these rules now.{' '}
        {open > 0 ? (
          <strong>
            {open} open session{open === 1 ? '' : 's'} keep{open === 1 ? 's' : ''} the previous rules until {open === 1 ? 'it reconnects' : 'they reconnect'}.
          </strong>
        ) : (
          'No session was open.'
        )}
      </p>
      <p className="save-where">
        Previous file kept as <code>{result.backup}</code> · recorded in audit session <code>{result.auditSession}</code>
      </p>
    </div>
  );
}
