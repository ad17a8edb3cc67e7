import type { Locator, Page } from 'playwright-core';

// Page object for Policy & resources: the rules as listed, and policy explain.

export interface ExplainForm {
  readonly sql: string;
  readonly resource?: string;
  readonly subject: string;
  readonly groups: string;
  readonly claims?: string;
  readonly searchPath?: string;
}

export class PolicyPage {
  constructor(readonly page: Page) {}

  async waitForLoad(): Promise<void> {
    await this.page.getByRole('heading', { name: 'Policy rules' }).waitFor();
  }

  /** The rule names, in the order the screen lists them. */
  async ruleNames(): Promise<string[]> {
    return this.page.getByTestId('rule').evaluateAll((cards) => cards.map((card) => card.getAttribute('data-rule') ?? ''));
  }

  rule(name: string): Locator {
    return this.page.locator(`[data-testid="rule"][data-rule="${name}"]`);
  }

  resourceRow(name: string): Locator {
    return this.page.getByTestId('resource').filter({ has: this.page.getByRole('rowheader', { name, exact: true }) });
  }

  get panel(): Locator {
    return this.page.getByRole('complementary', { name: 'Policy explain' });
  }

  async explain(form: ExplainForm): Promise<void> {
    const panel = this.panel;
    await panel.getByLabel('Statement', { exact: true }).fill(form.sql);
    if (form.resource) await panel.getByLabel('Resource', { exact: true }).selectOption(form.resource);
    await panel.getByLabel('Subject', { exact: true }).fill(form.subject);
    await panel.getByLabel('Groups (comma-separated)').fill(form.groups);
    await panel.getByLabel(/^Claims/).fill(form.claims ?? '');
    await panel.getByLabel(/^search_path/).fill(form.searchPath ?? '');
    await panel.getByRole('button', { name: 'Explain', exact: true }).click();
  }

  get verdict(): Locator {
    return this.panel.getByTestId('verdict');
  }

  /** allow / approve / deny, once the verdict shows. */
  async decision(): Promise<string | null> {
    await this.verdict.waitFor();
    return this.verdict.getAttribute('data-effect');
  }

  get trace(): Locator {
    return this.panel.getByTestId('trace');
  }

  /** The problem shown under the statement box (e.g. SQL that does not parse). */
  get statementProblem(): Locator {
    return this.panel.getByTestId('sql-problem');
  }
}
