// @vitest-environment jsdom
import { cleanup, render, screen, waitFor, within } from '@testing-library/react';
import { userEvent } from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiInput, ApiResult, MaskingRulesView, MaskingSaveResult, PreviewResult } from '../../proxy/api/api-contract.js';
import type { EngineClient } from '../../renderer/src/engine-client.js';
import { MaskingScreen } from '../../renderer/src/screens/masking/masking-screen.js';

// The masking rule editor against an in-memory engine: masking.rules answers the file's rules,
// masking.preview masks emails the way the draft says (and refuses a bad pattern as the server
// does, naming `rules[i].pattern`), masking.save records what it was sent.

const DETECTORS = ['email', 'phone', 'card', 'ssn'];
const STRATEGIES = ['redact', 'partial', 'hash', 'null', 'fake'];
const FILE_RULES = [
  { name: 'emails', detect: 'email', strategy: 'redact' },
  { name: 'ssn', columns: ['public.users.ssn'], strategy: 'hash', groups: ['ci'] },
];

type PreviewInput = ApiInput<'masking.preview'>;
type Rule = Record<string, unknown>;

class FakeEngine implements EngineClient {
  readonly label = 'fake engine';
  readonly previews: PreviewInput[] = [];
  readonly saves: unknown[][] = [];
  rules: Rule[] = FILE_RULES.map((rule) => ({ ...rule }));
  /** What the next save answers instead of succeeding. */
  saveFailure: string | undefined;

  async call(method: string, input: unknown): Promise<ApiResult<never>> {
    const ok = (value: unknown) => ({ ok: true, value }) as ApiResult<never>;
    switch (method) {
      case 'masking.rules':
        return ok(this.view());
      case 'masking.preview': {
        const request = input as PreviewInput;
        this.previews.push(request);
        const problems = request.rules.flatMap((rule, index) => {
          const pattern = (rule as Rule).pattern;
          return typeof pattern === 'string' && pattern.includes('(') && !pattern.includes(')') ? [`rules[${index}].pattern: invalid RE2 pattern: missing )`] : [];
        });
        if (problems.length > 0) return { ok: false, error: { code: 'invalid_input', message: `the draft masking rules are invalid: ${problems.join('; ')}` } };
        return ok(maskEmails(request));
      }
      case 'masking.save': {
        const { rules } = input as { rules: Rule[] };
        this.saves.push(rules);
        if (this.saveFailure) return { ok: false, error: { code: 'invalid_input', message: this.saveFailure } };
        this.rules = rules;
        const result: MaskingSaveResult = { ...this.view(), backup: '/etc/sluice/sluice.yaml.2030-01-01T00-00-00.000Z.bak', auditSession: '01JAUDIT', openSessions: 2 };
        return ok(result);
      }
      default:
        return { ok: false, error: { code: 'not_found', message: `the fake has no ${method}` } };
    }
  }

  view(): MaskingRulesView {
    return { rules: this.rules, yaml: 'masking: …\n', file: '/etc/sluice/sluice.yaml', version: 'a'.repeat(64), detectors: DETECTORS, strategies: STRATEGIES };
  }

  subscribe(): () => void {
    return () => {};
  }
  onConnection(listener: (state: 'live') => void): () => void {
    listener('live');
    return () => {};
  }
  close(): void {}
}

/** Masks values with an @ by the first rule detecting emails, as the real preview would (redact or partial). */
function maskEmails(request: PreviewInput): PreviewResult {
  const rule = request.rules.map((r) => r as Rule).find((r) => [r.detect].flat().includes('email'));
  const columns = request.sample!.columns.map((column) => column.name);
  return {
    columns,
    rows: request.sample!.rows.map((row) =>
      row.map((value) => {
        if (!rule || value === null || !value.includes('@')) return { value, rules: [] };
        const masked = rule.strategy === 'partial' ? `****${value.slice(value.indexOf('@'))}` : '[redacted:email]';
        return { value: masked, rules: [String(rule.name)] };
      }),
    ),
  };
}

afterEach(cleanup);

async function open(engine = new FakeEngine()) {
  const user = userEvent.setup();
  render(<MaskingScreen client={engine} />);
  await screen.findByRole('list', { name: 'Masking rules' });
  return { engine, user };
}

const yamlText = () => screen.getByLabelText('YAML of the masking section').textContent ?? '';
const emailCell = () => document.querySelector('.cell-out[data-row="0"][data-column="email"]');

describe('the masking rule editor', () => {
  it('lists the rules with what they match, their strategy and scope', async () => {
    await open();
    const items = within(screen.getByRole('list', { name: 'Masking rules' })).getAllByRole('button');
    expect(items.map((item) => item.textContent)).toEqual([
      expect.stringMatching(/emails.*redact.*detect.*email.*everyone/),
      expect.stringMatching(/ssn.*hash.*columns.*public\.users\.ssn.*only ci/),
    ]);
    expect(yamlText()).toContain('  - name: ssn\n    columns: [ public.users.ssn ]\n    strategy: hash\n    groups: [ ci ]\n');
  });

  it('moves between rules with the arrow keys, the open rule following', async () => {
    const { user } = await open();
    // Tab reaches the list (past the header and toolbar buttons) on the open rule.
    for (let presses = 0; presses < 8 && !document.activeElement?.classList.contains('rule-item'); presses++) await user.tab();
    expect(document.activeElement?.textContent).toMatch(/^emails/);
    await user.keyboard('{ArrowDown}');
    expect(document.activeElement?.textContent).toMatch(/^ssn/);
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('ssn');
    expect(screen.getByLabelText('Column list')).toBeTruthy();
  });

  it('updates the YAML as a field changes and previews the draft, with the cell the rule masked marked', async () => {
    const { engine, user } = await open();
    await waitFor(() => expect(emailCell()?.textContent).toContain('[redacted:email]'));
    expect(emailCell()?.getAttribute('data-rules')).toBe('emails');

    await user.selectOptions(screen.getByLabelText('Strategy'), 'partial');
    expect(yamlText()).toContain('  - name: emails\n    detect: email\n    strategy: partial\n');
    await waitFor(() => expect(emailCell()?.textContent).toContain('****@example.com'));
    expect(engine.previews.at(-1)?.rules[0]).toEqual({ name: 'emails', detect: 'email', strategy: 'partial' });
    expect(emailCell()?.className).toContain('cell-selected-rule');
    expect(screen.getByText('unsaved draft')).toBeTruthy();
  });

  it('shows strategy options only where they apply: keep last for partial, replacement for redact', async () => {
    const { user } = await open();
    expect(screen.getByLabelText('Replacement')).toBeTruthy();
    expect(screen.queryByLabelText('Keep last')).toBeNull();

    await user.selectOptions(screen.getByLabelText('Strategy'), 'partial');
    expect(screen.getByLabelText('Keep last')).toBeTruthy();
    expect(screen.queryByLabelText('Replacement')).toBeNull();
    await user.type(screen.getByLabelText('Keep last'), '2');
    expect(yamlText()).toContain('keep_last: 2');

    await user.selectOptions(screen.getByLabelText('Strategy'), 'hash');
    expect(screen.queryByLabelText('Keep last')).toBeNull();
    expect(screen.queryByLabelText('Replacement')).toBeNull();
    // An option that no longer applies is not written either.
    expect(yamlText()).not.toContain('keep_last');
  });

  it('lands an invalid pattern from the preview at the Pattern field, and clears it once fixed', async () => {
    const { user } = await open();
    await user.click(screen.getByRole('radio', { name: 'Pattern' }));
    const pattern = screen.getByLabelText('RE2 pattern');
    await user.type(pattern, 'ACME-(\\d+');
    await waitFor(() => expect(pattern.getAttribute('aria-invalid')).toBe('true'));
    const describedBy = pattern.getAttribute('aria-describedby')!.split(' ')[0]!;
    expect(document.getElementById(describedBy)?.textContent).toBe('invalid RE2 pattern: missing )');
    expect(within(screen.getByRole('list', { name: 'Masking rules' })).getByText('problem')).toBeTruthy();

    await user.type(pattern, ')');
    await waitFor(() => expect(pattern.getAttribute('aria-invalid')).toBeNull());
    expect(yamlText()).toContain('pattern: ACME-(\\d+)');
  });

  it('adds, duplicates and deletes rules in the draft', async () => {
    const { user } = await open();
    await user.click(screen.getByRole('button', { name: 'Add rule' }));
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('new-rule');
    await user.click(screen.getByRole('button', { name: 'Duplicate' }));
    expect((screen.getByLabelText('Name') as HTMLInputElement).value).toBe('new-rule-copy');
    await user.click(screen.getByRole('button', { name: 'Delete' }));
    const names = within(screen.getByRole('list', { name: 'Masking rules' }))
      .getAllByRole('button')
      .map((item) => item.querySelector('.rule-item-name')?.textContent);
    expect(names).toEqual(['emails', 'ssn', 'new-rule']);
  });

  it('saves after a confirmation that lists the changes, then says who keeps the old rules', async () => {
    const { engine, user } = await open();
    await user.click(screen.getByRole('checkbox', { name: 'card' }));
    await user.click(screen.getByRole('button', { name: /^Save…/ }));
    const dialog = screen.getByRole('dialog', { name: 'Save the masking rules?' });
    expect(within(dialog).getByText('change').parentElement?.textContent).toContain('emails');
    expect(engine.saves).toEqual([]);
    await user.click(within(dialog).getByRole('button', { name: 'Save to the config file' }));

    expect(engine.saves).toEqual([[{ name: 'emails', detect: ['email', 'card'], strategy: 'redact' }, FILE_RULES[1]]]);
    const notice = (await screen.findByText(/Saved\./)).closest('.save-result');
    expect(notice?.textContent).toContain('2 open sessions keep the previous rules until they reconnect');
    expect(notice?.textContent).toContain('/etc/sluice/sluice.yaml.2030-01-01T00-00-00.000Z.bak');
    expect(screen.getByText('as saved')).toBeTruthy();
  });

  it('puts a save refusal at the field it names', async () => {
    const engine = new FakeEngine();
    engine.saveFailure = 'the masking rules are invalid: masking[1].columns[0]: must be schema.table.column (`*` globs like billing.*.card_number) (rule "ssn")';
    const { user } = await open(engine);
    await user.selectOptions(screen.getByLabelText('Strategy'), 'partial');
    await user.keyboard('{Control>}s{/Control}');
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Save to the config file' }));
    // The rule with the problem opens, its field marked.
    const columns = await screen.findByLabelText('Column list');
    expect(columns.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(columns.getAttribute('aria-describedby')!.split(' ')[0]!)?.textContent).toBe('entry 1: must be schema.table.column (`*` globs like billing.*.card_number)');
    expect(screen.getByRole('alert').textContent).toContain('Not saved');
  });
});
